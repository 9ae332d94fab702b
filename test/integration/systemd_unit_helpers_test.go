//go:build integration

package integration

// A systemd unit run without systemd: this machine's container has no
// systemd as PID 1 (systemctl cannot start units), so the .deb test runs the
// installed unit's commands the way systemd would, read from the installed
// unit file itself: its Environment= and EnvironmentFile= make the
// environment, StateDirectory= is created for User=/Group=, and each
// ExecStartPre=/ExecStart= command runs under setpriv(1) with the unit's
// User=, Group=, SupplementaryGroups=, NoNewPrivileges= and an empty
// CapabilityBoundingSet=. The sandboxing directives (ProtectSystem=,
// PrivateTmp=, SystemCallFilter=, RestrictAddressFamilies=, ...) need
// systemd and are not applied here; `systemd-analyze verify` checks them.

import (
	"bufio"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// unitFile is a parsed unit: every Key=Value of a section in file order
// (keys repeat: ExecStartPre=, Environment=, SystemCallFilter=).
type unitFile map[string][][2]string

func parseUnitFile(path string) (unitFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(f)
	var cont string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cont != "" {
			line = cont + " " + line
			cont = ""
		}
		if strings.HasSuffix(line, `\`) {
			cont = strings.TrimSuffix(line, `\`)
			continue
		}
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				return nil, fmt.Errorf("%s: not Key=Value in a section: %q", path, line)
			}
			u[section] = append(u[section], [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
		}
	}
	return u, sc.Err()
}

// all returns every value of key in section.
func (u unitFile) all(section, key string) []string {
	var out []string
	for _, kv := range u[section] {
		if kv[0] == key {
			out = append(out, kv[1])
		}
	}
	return out
}

// one returns the last value of key in section ("" when unset).
func (u unitFile) one(section, key string) string {
	vs := u.all(section, key)
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// splitQuoted splits systemd's space-separated words, honouring double and
// single quotes (Environment=, Exec lines).
func splitQuoted(s string) ([]string, error) {
	var out []string
	var b strings.Builder
	var quote rune
	inWord := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			b.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				out = append(out, b.String())
				b.Reset()
				inWord = false
			}
		default:
			b.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if inWord {
		out = append(out, b.String())
	}
	return out, nil
}

// unitEnvironment is the service's environment as systemd makes it: the
// user's basics, then Environment=, then EnvironmentFile= (which overrides
// Environment=). A "-" before a file name makes it optional.
func unitEnvironment(u unitFile, usr *user.User) ([]string, error) {
	env := map[string]string{
		"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin", "HOME": usr.HomeDir,
		"USER": usr.Username, "LOGNAME": usr.Username, "SHELL": "/usr/sbin/nologin",
	}
	var order []string
	set := func(k, v string) {
		if _, seen := env[k]; !seen {
			order = append(order, k)
		}
		env[k] = v
	}
	for _, line := range u.all("Service", "Environment") {
		words, err := splitQuoted(line)
		if err != nil {
			return nil, err
		}
		for _, w := range words {
			k, v, ok := strings.Cut(w, "=")
			if !ok {
				return nil, fmt.Errorf("Environment=%s: %q is not KEY=value", line, w)
			}
			set(k, v)
		}
	}
	for _, name := range u.all("Service", "EnvironmentFile") {
		optional := strings.HasPrefix(name, "-")
		name = strings.TrimPrefix(name, "-")
		data, err := os.ReadFile(name)
		if optional && os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for line := range strings.SplitSeq(string(data), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || line[0] == '#' || line[0] == ';' {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return nil, fmt.Errorf("%s: %q is not KEY=value", name, line)
			}
			if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
				v = v[1 : len(v)-1]
			}
			set(strings.TrimSpace(k), v)
		}
	}
	out := []string{"PATH=" + env["PATH"], "HOME=" + env["HOME"], "USER=" + env["USER"], "LOGNAME=" + env["LOGNAME"], "SHELL=" + env["SHELL"]}
	for _, k := range order {
		if k != "PATH" && k != "HOME" && k != "USER" && k != "LOGNAME" && k != "SHELL" {
			out = append(out, k+"="+env[k])
		}
	}
	return out, nil
}

// unitCommand is one Exec line of the unit, as setpriv's command line with
// the unit's credentials. ignoreFailure is the "-" prefix.
type unitCommand struct {
	argv          []string
	ignoreFailure bool
}

// unitCommands returns the commands of key (ExecStartPre, ExecStart) in
// order. Specifiers (%) are refused: the test would run something else than
// systemd does.
func unitCommands(t *testing.T, u unitFile, key string) []unitCommand {
	t.Helper()
	usr, grp, groups := unitCredentials(t, u)
	var out []unitCommand
	for _, line := range u.all("Service", key) {
		if strings.Contains(line, "%") {
			t.Fatalf("%s=%s: specifiers are not emulated", key, line)
		}
		c := unitCommand{}
		for len(line) > 0 && strings.ContainsRune("-@:+!", rune(line[0])) {
			switch line[0] {
			case '-':
				c.ignoreFailure = true
			case '@', ':', '+', '!':
				t.Fatalf("%s=%s: prefix %q is not emulated", key, line, line[0])
			}
			line = line[1:]
		}
		words, err := splitQuoted(line)
		if err != nil || len(words) == 0 {
			t.Fatalf("%s=%s: %v", key, line, err)
		}
		argv := []string{"setpriv", "--reuid=" + usr.Uid, "--regid=" + grp, "--groups=" + strings.Join(groups, ",")}
		if b, _ := strconv.ParseBool(u.one("Service", "NoNewPrivileges")); b {
			argv = append(argv, "--no-new-privs")
		}
		if vs := u.all("Service", "CapabilityBoundingSet"); len(vs) > 0 && vs[len(vs)-1] == "" {
			argv = append(argv, "--bounding-set=-all", "--inh-caps=-all")
		}
		c.argv = append(append(argv, "--"), words...)
		out = append(out, c)
	}
	return out
}

// unitCredentials resolves User=, Group= and SupplementaryGroups= to IDs.
func unitCredentials(t *testing.T, u unitFile) (*user.User, string, []string) {
	t.Helper()
	usr, err := user.Lookup(u.one("Service", "User"))
	if err != nil {
		t.Fatalf("the unit's User=: %v", err)
	}
	gid := usr.Gid
	if name := u.one("Service", "Group"); name != "" {
		g, err := user.LookupGroup(name)
		if err != nil {
			t.Fatalf("the unit's Group=: %v", err)
		}
		gid = g.Gid
	}
	var groups []string
	for _, line := range u.all("Service", "SupplementaryGroups") {
		for _, name := range strings.Fields(line) {
			g, err := user.LookupGroup(name)
			if err != nil {
				t.Fatalf("the unit's SupplementaryGroups=: %v", err)
			}
			groups = append(groups, g.Gid)
		}
	}
	return usr, gid, groups
}

// unitStateDirectories creates StateDirectory= under /var/lib owned by the
// unit's user and group, with StateDirectoryMode= (default 0755), as
// systemd does before the first Exec command.
func unitStateDirectories(t *testing.T, u unitFile) []string {
	t.Helper()
	usr, grp, _ := unitCredentials(t, u)
	mode := uint64(0o755)
	if m := u.one("Service", "StateDirectoryMode"); m != "" {
		var err error
		if mode, err = strconv.ParseUint(m, 8, 32); err != nil {
			t.Fatalf("StateDirectoryMode=%s: %v", m, err)
		}
	}
	uid, _ := strconv.Atoi(usr.Uid)
	gid, _ := strconv.Atoi(grp)
	var dirs []string
	for _, line := range u.all("Service", "StateDirectory") {
		for _, name := range strings.Fields(line) {
			dir := filepath.Join("/var/lib", name)
			if err := os.MkdirAll(dir, os.FileMode(mode)); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(dir, uid, gid); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, os.FileMode(mode)); err != nil {
				t.Fatal(err)
			}
			dirs = append(dirs, dir)
		}
	}
	return dirs
}
