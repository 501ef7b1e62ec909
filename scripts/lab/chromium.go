package lab

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/deskphone/phoned/scripts/tier"
)

// Chromium is a headless Chromium (Debian `chromium`) showing one page, as
// a victim's browser would: the page's scripts run with the browser's own
// rules (CORS, no-cors fetches, form posts). The test learns what the page
// did from requests the page makes to the test's own server; nothing here
// drives the browser over DevTools.
type Chromium struct {
	p *proc
}

// StartChromium opens url in a new headless Chromium with a profile of its
// own under t.TempDir(); t.Cleanup ends it with all its processes.
func StartChromium(t testing.TB, url string) *Chromium {
	t.Helper()
	tier.Interop(t, "chromium")
	dir := t.TempDir()
	cmd := exec.Command("chromium",
		"--headless=new",
		"--no-sandbox", // tests run as root here
		"--disable-gpu",
		"--no-first-run",
		"--no-default-browser-check",
		"--disable-extensions",
		"--disable-background-networking",
		"--disable-component-update",
		"--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"),
		url)
	p, err := startProc(t, "chromium", cmd, filepath.Join(dir, "chromium.log"))
	if err != nil {
		t.Fatal(err)
	}
	return &Chromium{p: p}
}

// Log is the tail of Chromium's output, for failure messages.
func (c *Chromium) Log() string { return c.p.log.String() }
