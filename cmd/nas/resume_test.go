package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"nas/store"
)

// buildNas builds the nas binary into a temporary folder.
func buildNas(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nas")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startNas starts the binary and returns it with a channel of its stderr
// lines; the channel closes when stderr does.
func startNas(t *testing.T, bin string, args ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", runtime.GOMAXPROCS(0)))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return cmd, lines
}

// waitForLine reads lines until one contains want, and fails the test if
// none does within a minute.
func waitForLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("stderr closed before a line with %q", want)
			}
			if strings.Contains(line, want) {
				return
			}
		case <-timeout:
			t.Fatalf("no line with %q within a minute", want)
		}
	}
}

// drain consumes the remaining lines, so the process never blocks on a full
// pipe, and returns them.
func drain(lines <-chan string) string {
	var b strings.Builder
	for line := range lines {
		b.WriteString(line + "\n")
	}
	return b.String()
}

func readTrials(t *testing.T, db, run string) []store.Trial {
	t.Helper()
	s, err := store.Open(db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	trials, err := s.Trials(run)
	if err != nil {
		t.Fatal(err)
	}
	return trials
}

func runStatus(t *testing.T, db, run string) string {
	t.Helper()
	s, err := store.Open(db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Run(run)
	if err != nil {
		t.Fatal(err)
	}
	return r.Status
}

// TestSearchResumeAfterKill kills a search process with SIGKILL, stops the
// resumed process with SIGINT, resumes it again to the end, and compares
// its trials with an uninterrupted run of the same settings.
func TestSearchResumeAfterKill(t *testing.T) {
	needFashionMNIST(t)
	bin := buildNas(t)
	db := tempStore(t)
	search := cmdArgs(tinySearch, "--budget", "10", "--store", db)

	// r1: uninterrupted.
	if code, _, stderr := runCommand(t, search...); code != exitOK {
		t.Fatalf("uninterrupted search exit %d: %s", code, stderr)
	}
	want := readTrials(t, db, "r1")

	// r2: killed outright after its second batch.
	cmd, lines := startNas(t, bin, search...)
	waitForLine(t, lines, "batch=2")
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	drain(lines)
	cmd.Wait()
	killed := readTrials(t, db, "r2")
	if len(killed) < 4 || len(killed)%2 != 0 {
		t.Errorf("after SIGKILL run r2 has %d trials, want whole batches of 2, at least 4", len(killed))
	}
	if st := runStatus(t, db, "r2"); st != store.RunRunning {
		t.Errorf("status after SIGKILL %q, want %q (nothing could mark it)", st, store.RunRunning)
	}
	if _, stdout, _ := runCommand(t, "runs", "--store", db); !strings.Contains(stdout, "killed") || !strings.Contains(stdout, "--resume r2") {
		t.Errorf("nas runs does not show r2 as killed with the resume command:\n%s", stdout)
	}

	// Resume r2, then stop it with SIGINT after one more batch.
	cmd, lines = startNas(t, bin, "search", "--resume", "r2", "--store", db)
	waitForLine(t, lines, "msg=batch")
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest := drain(lines)
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Errorf("exit code after SIGINT %d (%v), want %d; stderr:\n%s", code, err, exitInterrupted, rest)
	}
	if !strings.Contains(rest, "nas search --resume r2") {
		t.Errorf("interrupted search does not say how to resume:\n%s", rest)
	}
	if strings.Contains(rest, "context canceled") {
		t.Errorf("interrupted search prints the cancellation as an error:\n%s", rest)
	}
	if st := runStatus(t, db, "r2"); st != store.RunInterrupted && st != store.RunDone {
		t.Errorf("status after SIGINT %q, want %q", st, store.RunInterrupted)
	}

	// Resume r2 to the end, in this process.
	if code, _, stderr := runCommand(t, "search", "--resume", "r2", "--store", db); code != exitOK && !strings.Contains(stderr, "already complete") {
		t.Fatalf("final resume exit %d: %s", code, stderr)
	}
	got := readTrials(t, db, "r2")
	if len(got) != len(want) {
		t.Fatalf("resumed run has %d trials, want %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if g.Seq != i+1 {
			t.Errorf("trial %d has seq %d", i+1, g.Seq)
		}
		if g.ArchID != w.ArchID || g.Accuracy != w.Accuracy || g.Reward != w.Reward || g.TrainSteps != w.TrainSteps {
			t.Errorf("trial %d: resumed arch %s accuracy %v reward %v steps %d, uninterrupted arch %s accuracy %v reward %v steps %d",
				i+1, g.ArchID, g.Accuracy, g.Reward, g.TrainSteps, w.ArchID, w.Accuracy, w.Reward, w.TrainSteps)
		}
	}
	if st := runStatus(t, db, "r2"); st != store.RunDone {
		t.Errorf("final status %q, want done", st)
	}
}
