// Package browsertest drives a headless Chromium through the hub's pages
// and checks each page it loads with axe-core against WCAG 2.2 level AA.
//
// It needs Debian's chromium at /usr/bin/chromium (or "chromium" on the
// PATH) and the axe.min.js that scripts/copy-assets vendors into
// web/static/vendor/axe-core. A test that calls New is skipped with a
// message when either is missing.
//
// The browser may only load pages from loopback addresses: a request to any
// other host fails the test, so a page that embeds an outside resource is
// caught.
package browsertest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// wcagTags are the axe-core rule tags checked on every page: WCAG 2.0, 2.1
// and 2.2 at levels A and AA.
var wcagTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"}

// actionTimeout bounds each step, such as loading a page or running axe.
const actionTimeout = 30 * time.Second

// Browser is a headless Chromium with a fresh profile, closed when the test
// ends.
type Browser struct {
	t   testing.TB
	ctx context.Context
	axe string

	mu       sync.Mutex
	external []string // requests to hosts that are not loopback
	failed   []string // subresources that returned a 4xx or 5xx status
}

// New starts Chromium for the test t, or skips t when Chromium or the
// vendored axe-core is missing.
func New(t testing.TB) *Browser {
	t.Helper()

	chromium := findChromium()
	if chromium == "" {
		t.Skip("skipping browser test: chromium not found; install it with 'apt-get install -y chromium'")
	}
	axe, err := os.ReadFile(axePath())
	if err != nil {
		t.Skipf("skipping browser test: axe-core not vendored at %s; run 'make assets' (npm ci and scripts/copy-assets)", axePath())
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1024),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})

	b := &Browser{t: t, ctx: ctx, axe: string(axe)}
	// The first action starts the browser. It runs without a timeout,
	// because the end of a timeout would stop the browser.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if err := chromedp.Listen(ctx, b.watch); err != nil {
		t.Fatalf("listen to chromium: %v", err)
	}
	return b
}

// findChromium returns the path of Debian's chromium, or "".
func findChromium() string {
	if path, err := exec.LookPath("chromium"); err == nil {
		return path
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	return ""
}

// axePath returns where scripts/copy-assets puts axe.min.js, found from
// this source file so that tests in any package of the module can use it.
func axePath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "static", "vendor", "axe-core", "axe.min.js")
}

// watch records requests to hosts other than loopback and subresources
// that failed. It runs on chromedp's event loop, so it only appends.
func (b *Browser) watch(ev any) {
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if !loopback(ev.Request.URL) {
			b.mu.Lock()
			b.external = append(b.external, ev.Request.URL)
			b.mu.Unlock()
		}
	case *network.EventResponseReceived:
		if ev.Type != network.ResourceTypeDocument && ev.Response.Status >= 400 {
			b.mu.Lock()
			b.failed = append(b.failed, fmt.Sprintf("%s: HTTP %d", ev.Response.URL, ev.Response.Status))
			b.mu.Unlock()
		}
	}
}

// loopback reports whether rawURL is a data URL or names a loopback host.
func loopback(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	if u.Scheme == "data" || u.Scheme == "about" || u.Scheme == "blob" {
		return true
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Context returns the chromedp context of the browser's tab, for actions
// this package does not wrap.
func (b *Browser) Context() context.Context { return b.ctx }

// Visit loads rawURL, checks the page for accessibility and returns the
// HTTP status of the document.
func (b *Browser) Visit(rawURL string) int {
	b.t.Helper()
	resp, err := b.runResponse(chromedp.Navigate(rawURL))
	if err != nil {
		b.t.Fatalf("load %s: %v", rawURL, err)
	}
	b.CheckPage()
	return int(resp.Status)
}

// Submit clicks the element matched by the CSS selector, such as a form's
// submit button, waits for the page it leads to, checks that page and
// returns its HTTP status.
func (b *Browser) Submit(selector string) int {
	b.t.Helper()
	resp, err := b.runResponse(chromedp.Click(chromedp.CSS(selector)))
	if err != nil {
		b.t.Fatalf("click %s: %v", selector, err)
	}
	b.CheckPage()
	return int(resp.Status)
}

func (b *Browser) runResponse(steps ...chromedp.Action[chromedp.Void]) (*network.Response, error) {
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	return chromedp.RunResponse(ctx, steps...)
}

// Do runs actions on the current page with a timeout, failing the test on
// an error.
func (b *Browser) Do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser action: %v", err)
	}
}

// Eval evaluates a JavaScript expression on the current page and returns
// its value as a string.
func (b *Browser) Eval(expression string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expression))
	if err != nil {
		b.t.Fatalf("evaluate %q: %v", expression, err)
	}
	return v
}

// Fill sets the value of each input named by a CSS selector in values.
func (b *Browser) Fill(values map[string]string) {
	b.t.Helper()
	var actions []chromedp.Action[chromedp.Void]
	for selector, value := range values {
		actions = append(actions, chromedp.SetValue(chromedp.CSS(selector), value))
	}
	b.Do(actions...)
}

// violation is the part of an axe-core result that a failure message shows.
type violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// CheckPage runs axe-core on the current page and fails the test for each
// WCAG 2.2 AA violation. It also fails the test when the page loaded
// anything from a host other than loopback, or a subresource such as a
// stylesheet failed to load.
func (b *Browser) CheckPage() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()

	location, _ := chromedp.Run(ctx, chromedp.Location())

	// Each page load starts a new window, so axe is injected every time.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](b.axe+";undefined")); err != nil {
		b.t.Fatalf("inject axe-core into %s: %v", location, err)
	}
	script := fmt.Sprintf(`axe.run(document, {runOnly: {type: "tag", values: %s}, resultTypes: ["violations"]}).then(r => r.violations)`, jsArray(wcagTags))
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]violation](script, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("run axe-core on %s: %v", location, err)
	}
	for _, v := range violations {
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprintf("%v: %s", n.Target, n.Summary))
		}
		b.t.Errorf("accessibility violation on %s: %s (%s, %s)\n  %s", location, v.ID, v.Impact, v.Help, strings.Join(where, "\n  "))
	}

	b.mu.Lock()
	external, failed := b.external, b.failed
	b.external, b.failed = nil, nil
	b.mu.Unlock()
	for _, u := range external {
		b.t.Errorf("page %s requested %s, which is not on a loopback address", location, u)
	}
	for _, f := range failed {
		b.t.Errorf("page %s failed to load %s", location, f)
	}
}

func jsArray(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = `"` + v + `"`
	}
	return "[" + strings.Join(quoted, ",") + "]"
}
