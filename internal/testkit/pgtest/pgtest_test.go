package pgtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestAStartedServerServesDatabasesAndLeavesNothingBehind(t *testing.T) {
	s, err := StartServer("")
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = s.Stop()
		}
	})
	pid, dir := s.proc.cmd.Process.Pid, s.dir
	for _, name := range []string{NewName("one"), NewName("two")} {
		dsn, err := s.CreateDB(name)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := pgx.Connect(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if err := conn.QueryRow(t.Context(), `SELECT current_database()`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		_ = conn.Close(t.Context())
		if got != name {
			t.Errorf("connected to database %q, want %q", got, name)
		}
	}
	stopped = true
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("postgres (pid %d) still exists after Stop: kill -0: %v", pid, err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the server's directory %s is still there after Stop (%v)", dir, err)
	}
}

func TestStartGivesTheTestAFreshDatabase(t *testing.T) {
	dsn := Start(t)
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var tables int
	if err := conn.QueryRow(t.Context(), `SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("a fresh database has %d tables", tables)
	}
}

func TestWithoutPostgreSQLTheErrorSaysWhatToInstall(t *testing.T) {
	_, err := binDir(t.TempDir() + "/*/bin")
	if err == nil {
		t.Fatal("binDir found server binaries in an empty directory")
	}
	for _, want := range []string{"postgresql", "scripts/deps.sh test"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

func TestNewName(t *testing.T) {
	tests := []struct {
		name, prefix, wantPrefix string
	}{
		{"a test name becomes a lower-case identifier", "e2l_TestApply/refuses a gap", "e2l_testapply_refuses_a_gap_"},
		{"a name starting with a digit gets a letter first", "1st", "db_1st_"},
		{"an empty prefix still makes a valid name", "", "db__"},
		{"a long prefix is cut to leave room for the suffix", strings.Repeat("x", 80), strings.Repeat("x", 48) + "_"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NewName(tt.prefix)
			if !strings.HasPrefix(got, tt.wantPrefix) || !validName.MatchString(got) {
				t.Errorf("NewName(%q) = %q, want a valid name starting with %q", tt.prefix, got, tt.wantPrefix)
			}
		})
	}
}

// childEnvVar makes the test binary, run again by
// TestAServerDoesNotOutliveACrashedTest, start a server and die.
const childEnvVar = "E2L_PGTEST_CRASH_CHILD"

func TestAServerDoesNotOutliveACrashedTest(t *testing.T) {
	if os.Getenv(childEnvVar) != "" {
		s, err := StartServer(os.Getenv(childEnvVar))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("pid=%d\n", s.proc.cmd.Process.Pid)
		// Die as a test process killed by a timeout or a signal does:
		// no cleanup, no Stop.
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	dir, err := os.MkdirTemp("", "e2l-pgtest-crash-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	cmd := exec.Command(os.Args[0], "-test.run=^TestAServerDoesNotOutliveACrashedTest$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnvVar+"="+dir)
	out, _ := cmd.Output() // killed: the error is expected
	var pid int
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "pid=%d", &pid); err != nil {
		t.Fatalf("the child did not start a server: %q", out)
	}
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("postgres (pid %d) still runs 30 s after the test process that started it died", pid)
		}
		<-tick.C
	}
}

func TestAnExistingServerNamedByTheEnvironmentIsUsedAndLeftRunning(t *testing.T) {
	existing, err := StartServer("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := existing.Stop(); err != nil {
			t.Error(err)
		}
	})
	t.Setenv(EnvDSN, existing.DSN("postgres"))
	s, err := StartOrUse("")
	if err != nil {
		t.Fatal(err)
	}
	if s.proc != nil {
		t.Fatalf("StartOrUse started a server though %s is set", EnvDSN)
	}
	name := NewName("used")
	if _, err := s.CreateDB(name); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), existing.DSN("postgres"))
	if err != nil {
		t.Fatalf("the existing server does not answer after Stop: %v", err)
	}
	defer conn.Close(t.Context())
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT COUNT(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s is still there after Stop", name)
	}
}
