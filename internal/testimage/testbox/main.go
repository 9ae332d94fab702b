// Command testbox is the one program of e2l's test image: a static
// multi-call binary (like busybox, but the project's own, so that no OS
// package is needed to make the image). Called as sleep, true, false or
// echo, through a link of that name or as its first argument:
//
//	sleep SECONDS   sleep (fractions allowed); "infinity" sleeps for ever
//	true | false    exit 0 | 1
//	echo ARGS...    print the arguments
//
// Like busybox's applets run as a container's PID 1, it ignores SIGTERM,
// SIGINT and SIGHUP, so `docker stop` ends it with SIGKILL after the
// grace period: the life cycle the tests and the demo observe is Docker's,
// not the program's.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() { os.Exit(run(os.Args)) }

func run(args []string) int {
	signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	name := filepath.Base(args[0])
	rest := args[1:]
	if name == "testbox" {
		if len(rest) == 0 {
			fmt.Fprintln(os.Stderr, "usage: testbox sleep SECONDS | true | false | echo ARGS...")
			return 2
		}
		name, rest = rest[0], rest[1:]
	}
	switch name {
	case "true":
		return 0
	case "false":
		return 1
	case "echo":
		fmt.Println(strings.Join(rest, " "))
		return 0
	case "sleep":
		return sleep(rest)
	default:
		fmt.Fprintf(os.Stderr, "testbox: %s: unknown command (sleep, true, false, echo)\n", name)
		return 127
	}
}

func sleep(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: sleep SECONDS")
		return 2
	}
	if args[0] == "infinity" {
		select {}
	}
	s, err := strconv.ParseFloat(args[0], 64)
	if err != nil || s < 0 {
		fmt.Fprintf(os.Stderr, "sleep: invalid time interval %q\n", args[0])
		return 2
	}
	time.Sleep(time.Duration(s * float64(time.Second)))
	return 0
}
