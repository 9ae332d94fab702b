// Command e2l-testimage makes the local test image (testimage.Name) in the
// Docker Engine that DOCKER_HOST names (make up's demo runs it).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/e2l-project/e2l/internal/testimage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := testimage.Ensure(ctx, ""); err != nil {
		fmt.Fprintln(os.Stderr, "e2l-testimage:", err)
		os.Exit(1)
	}
	fmt.Println(testimage.Name)
}
