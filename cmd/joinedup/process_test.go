package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/joinedup/joinedup"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the joinedup command once per test run and returns its
// path.
func binary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv(binaryVar); bin != "" {
		return bin
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "joinedup-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "joinedup")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// binaryVar names the environment variable that gives a test process
// started by another the joinedup binary that the first one built.
const binaryVar = "JOINEDUP_TEST_BINARY"

// process is a joinedup serve running as its own process.
type process struct {
	cmd     *exec.Cmd
	BaseURL string
	logs    *strings.Builder
}

// startProcess runs joinedup serve with args and extra environment, and
// waits until it reports that it is ready.
func startProcess(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve"}, args...)...)
	cmd.Env = append(append(os.Environ(), "JOINEDUP_API_TOKEN="+testToken), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, logs: &strings.Builder{}}
	var mu sync.Mutex
	cmd.Stderr = writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return p.logs.Write(b)
	})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("joinedup serve log:\n%s", p.logs.String())
			mu.Unlock()
		}
	})

	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if url, ok := strings.CutPrefix(sc.Text(), "joinedup is ready at "); ok {
				ready <- url
			}
		}
	}()
	select {
	case p.BaseURL = <-ready:
	case <-time.After(60 * time.Second):
		t.Fatalf("joinedup serve not ready after 60s; log:\n%s", p.logs.String())
	}
	return p
}

// kill ends the process with SIGKILL, as a crash would.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
}

// stop ends the process with SIGTERM and checks it shuts down cleanly.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("joinedup serve exited with %v after SIGTERM", err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// getJSON decodes a GET of the hub's API.
func getJSON(t *testing.T, url string, out any) error {
	t.Helper()
	resp, err := apiGet(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	return json.Unmarshal(b, out)
}

// postBirth registers a birth on a hub process and returns the event id.
func postBirth(t *testing.T, base string, body []byte) (joinedup.EventID, error) {
	resp, err := apiPost(base+"/api/v1/births", "application/json", strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	var out birthResponse
	if err := json.Unmarshal(b, &out); err != nil {
		return "", err
	}
	return out.Event.ID, nil
}

// waitAllComplete polls a hub process until every event is complete.
func waitAllComplete(t *testing.T, base string, ids []joinedup.EventID, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for _, id := range ids {
		for {
			var ev joinedup.LifeEvent
			err := getJSON(t, base+"/api/v1/life-events/"+string(id), &ev)
			if err == nil && ev.Complete() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("life event %s not complete after %s (err %v): %+v", id, timeout, err, ev.Deliveries)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// servicesFileFor writes a -services file registering the given test
// services, of the organisation test-council, and returns its path. The
// file also registers council, the organisation of the test API token.
func servicesFileFor(t *testing.T, services ...*joinedup.Service) string {
	t.Helper()
	return writeServicesFile(t, servicesFile{Organisations: testOrganisations, Services: services})
}

// testOrganisations are the organisations of the test services and of the
// test API token.
var testOrganisations = []joinedup.Organisation{{ID: "test-council", Name: "Test Council"}, {ID: "council", Name: "Test Registration Council"}}

// writeServicesFile writes f as a -services file and returns its path.
func writeServicesFile(t testing.TB, f servicesFile) string {
	t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "services.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
