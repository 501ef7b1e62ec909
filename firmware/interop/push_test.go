package interop

import (
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/deskphone/phoned/firmware/api"
	"github.com/deskphone/phoned/firmware/phoneproc"
)

const pushPassword = "Push-Marker-8812"

// pushPhone starts phoned with an API password and a state directory in
// dir; env goes to the process.
func pushPhone(t *testing.T, dir string, env []string) *phoneproc.Phone {
	t.Helper()
	p, _ := phonedWith(t, dir, env, func(sipPort, apiPort int) string {
		return fmt.Sprintf(`schema = 1
[sip]
listen = "127.0.0.1:%d"
[api]
listen = "127.0.0.1:%d"
password = %q
[system]
state_dir = "state"
[directory]
"1" = "sip:one@127.0.0.1:9"
`, sipPort, apiPort, pushPassword)
	})
	p.Password = pushPassword
	_, err := p.Until(within, "the API", func(phonedStatus) bool { return true })
	must(t, err)
	return p
}

func push(t *testing.T, p *phoneproc.Phone, ctype, body string) (int, api.PushResult, string) {
	t.Helper()
	resp, err := p.Do("PUT", "/api/v1/config", ctype, body)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var res api.PushResult
	json.Unmarshal(b, &res)
	return resp.StatusCode, res, string(b)
}

// printConfig is what phoned -print-config says of the config file path.
func printConfig(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command(phonedBin, "-config", path, "-print-config").CombinedOutput()
	must(t, err)
	return string(out)
}

// PUT /api/v1/config (issue 13, local push): the password before
// anything, TOML only, a bad file refused with its problems and nothing
// changed, a good one applied (while off-hook: after hang-up) and kept
// across a restart.
func TestPushConfig(t *testing.T) {
	dir := t.TempDir()
	p := pushPhone(t, dir, nil)
	good := "schema = 1\n[directory]\n\"2\" = \"sip:two@127.0.0.1:9\"\n"

	p.Password = ""
	if code, _, body := push(t, p, "application/toml", good); code != 401 {
		t.Fatalf("without the password: %d %s", code, body)
	}
	p.Password = pushPassword
	if code, _, body := push(t, p, "application/json", good); code != 415 {
		t.Fatalf("as JSON: %d %s", code, body)
	}
	code, res, body := push(t, p, "application/toml", "schema = 1\n[phone]\nmax_calls = 99\n[sip]\nlistne = 1\n")
	if code != 422 || len(res.Problems) != 2 || !strings.HasPrefix(res.Problems[0], "pushed.toml:3: phone.max_calls") ||
		!strings.Contains(res.Problems[1], `did you mean "listen"`) {
		t.Fatalf("bad file: %d %s", code, body)
	}
	if strings.Contains(printConfig(t, configPath(p)), "two@") {
		t.Fatal("a refused file was kept")
	}

	must(t, p.Hook(true))
	code, res, body = push(t, p, "application/toml", good)
	if code != 200 || strings.Join(res.Changed, ",") != "directory" || res.Apply != "hot" || !res.WaitsForIdle {
		t.Fatalf("good file while off-hook: %d %s", code, body)
	}
	// The loop takes the new config between events: pending shortly.
	_, err := p.Until(within, "the push pending", func(s phonedStatus) bool {
		return s.Config != nil && strings.Join(s.Config.Pending, ",") == "directory"
	})
	must(t, err)
	must(t, p.Hook(false))
	_, err = p.Until(within, "the push applied", func(s phonedStatus) bool {
		return s.Config != nil && s.Config.Source == "push" && s.Config.AppliedAt != nil
	})
	must(t, err)
	if out := printConfig(t, configPath(p)); !strings.Contains(out, `2 = "sip:two@127.0.0.1:9"`) || !strings.Contains(out, `1 = "sip:one@127.0.0.1:9"`) {
		t.Fatalf("the pushed layer is not kept over the phone's own file:\n%s", out)
	}
}

// A kill -9 at each step of keeping a pushed config leaves a phone that
// starts, with the old config or the new one.
func TestPushKilledAtEveryStep(t *testing.T) {
	for _, step := range []string{"temp", "synced", "renamed", "dir-synced"} {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			p := pushPhone(t, dir, []string{"PHONED_TEST_CRASH_AT=" + step})
			p.Do("PUT", "/api/v1/config", "application/toml", "schema = 1\n[directory]\n\"2\" = \"sip:two@127.0.0.1:9\"\n")
			_, err := p.Until(within, "the kill", func(phonedStatus) bool { return false })
			if err == nil || !strings.Contains(err.Error(), "exited") {
				t.Fatalf("phoned was not killed at %s: %v", step, err)
			}
			out := printConfig(t, configPath(p))
			if !strings.Contains(out, `1 = "sip:one@127.0.0.1:9"`) {
				t.Fatalf("after a kill at %s the config is not the old or the new one:\n%s", step, out)
			}
			newOne := strings.Contains(out, `2 = "sip:two@127.0.0.1:9"`)
			p2 := pushPhone(t, dir, nil) // starts
			st, err := p2.Status()
			must(t, err)
			t.Logf("killed at %s: restarted with the %s config, state %s", step, map[bool]string{true: "new", false: "old"}[newOne], st.State)
		})
	}
}
