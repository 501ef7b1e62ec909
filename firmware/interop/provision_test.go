package interop

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/phoned/firmware/phoneproc"
	"github.com/deskphone/phoned/scripts/lab"
	"github.com/deskphone/phoned/scripts/tier"
)

const provMAC = "00aabbccddee"

// provServer is nginx serving a provisioning directory over HTTPS with
// client-certificate checking, and the phone's side of the trust.
type provServer struct {
	ng        *lab.Nginx
	root      string // the directory served as /phones/
	ca        *lab.TestCA
	client    lab.Issued
	signer    ed25519.PrivateKey
	signerPub string
}

func startProvServer(t testing.TB) *provServer {
	t.Helper()
	tier.Interop(t, "nginx")
	dir := t.TempDir()
	ca := lab.NewTestCA(t, "prov")
	srv := ca.Issue(t, "server", lab.Loopback())
	root := filepath.Join(dir, "www", "phones")
	must(t, os.MkdirAll(root, 0o755))
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	s := &provServer{root: root, ca: ca, client: ca.Issue(t, "phone", nil), signer: priv,
		signerPub: base64.StdEncoding.EncodeToString(pub)}
	s.ng = lab.StartNginx(t, dir, lab.NginxOptions{Root: filepath.Join(dir, "www"), CertFile: srv.CertFile, KeyFile: srv.KeyFile, ClientCA: ca.CAFile})
	return s
}

// put writes a file on the server with its signature (sig: a signature of
// other bytes, to make it bad).
func (s *provServer) put(t testing.TB, name, data string, badSig bool) {
	t.Helper()
	signed := data
	if badSig {
		signed = data + "# tampered"
	}
	must(t, os.WriteFile(filepath.Join(s.root, name), []byte(data), 0o644))
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(s.signer, []byte(signed)))
	must(t, os.WriteFile(filepath.Join(s.root, name+".sig"), []byte(sig+"\n"), 0o644))
}

// phone starts phoned with an almost empty config: where to provision
// from, and nothing else that matters.
func (s *provServer) phone(t testing.TB, extra string) *phoneproc.Phone {
	t.Helper()
	p, _ := phonedWith(t, "", nil, func(sipPort, apiPort int) string {
		return fmt.Sprintf(`schema = 1
[sip]
listen = "127.0.0.1:%d"
[audio]
device = "wav"
[audio.wav]
input = %q
output = "speaker.wav"
[api]
listen = "127.0.0.1:%d"
[system]
state_dir = "state"
[provisioning]
url = %q
ca = %q
client_cert = %q
client_key = %q
mac = %q
public_key = %q
boot_delay_max = "0s"
rollback_after = "10s"
%s`, sipPort, lab.ToneWAV(t, 700, 2*time.Second), apiPort, s.ng.URL()+"/phones/", s.ca.CAFile, s.client.CertFile, s.client.KeyFile,
			provMAC, s.signerPub, extra)
	})
	return p
}

func provResult(s phonedStatus) string {
	if s.Provisioning == nil {
		return ""
	}
	return s.Provisioning.LastResult
}

// checkNow asks for a check and waits for its result.
func checkNow(t testing.TB, p *phoneproc.Phone, want string) phonedStatus {
	t.Helper()
	before, err := p.Status()
	must(t, err)
	var last time.Time
	if before.Provisioning != nil && before.Provisioning.LastCheck != nil {
		last = *before.Provisioning.LastCheck
	}
	must(t, p.Post("/api/v1/provisioning/check", "{}"))
	st, err := p.Until(within, "a provisioning check", func(s phonedStatus) bool {
		return s.Provisioning != nil && s.Provisioning.LastCheck != nil && s.Provisioning.LastCheck.After(last)
	})
	must(t, err)
	if st.Provisioning.LastResult != want {
		t.Fatalf("check: %s (%s), want %s", st.Provisioning.LastResult, st.Provisioning.Error, want)
	}
	return st
}

// The phone provisions itself from an almost empty config over HTTPS
// with a client certificate and signed files, registers at Kamailio with
// the provisioned account and calls baresip; a second check finds nothing
// new (nginx answers 304).
func TestProvisionedPhoneRegistersAndCalls(t *testing.T) {
	k := lab.StartKamailio(t, lab.KamailioOptions{Users: map[string]string{"1001": "pw1001", "1002": "pw1002"}})
	b := lab.StartBaresip(t, lab.BaresipOptions{User: "1002", Password: "pw1002", Registrar: k.Addr(),
		MicWAV: lab.ToneWAV(t, 1100, 60*time.Second)})
	s := startProvServer(t)
	s.put(t, "common.toml", fmt.Sprintf("schema = 1\n[account]\nregistrar = %q\ndomain = \"127.0.0.1\"\n", k.Addr().String()), false)
	s.put(t, provMAC+".toml", "schema = 1\n[account]\nuser = \"1001\"\npassword = \"pw1001\"\ndisplay_name = \"Provisioned\"\n", false)
	p := s.phone(t, "")

	st, err := p.Until(within, "registered with the provisioned account", func(s phonedStatus) bool {
		return s.Registration.State == "registered"
	})
	must(t, err)
	if pr := st.Provisioning; pr == nil || pr.LastResult != "applied" || pr.Source != "config" || pr.Hash == "" ||
		pr.URL != s.ng.URL()+"/phones/" || st.Config == nil || !strings.Contains(strings.Join(st.Config.AppliedKey, ","), "account.user") {
		t.Fatalf("provisioning status %+v, config %+v", st.Provisioning, st.Config)
	}
	must(t, p.Hook(true))
	must(t, p.Keys("1002#"))
	b.WaitEvent(t, "CALL_INCOMING", within)
	must(t, b.Accept())
	_, err = p.Wait("talking", within)
	must(t, err)
	must(t, p.Hook(false))

	checkNow(t, p, "unchanged")
	if log, ok := s.ng.WaitAccessLog(func(l string) bool { return strings.Contains(l, "\" 304 ") }, 5*time.Second); !ok {
		t.Fatalf("no 304 in nginx's log for the second check:\n%s", log)
	}
}

// Bad files on the server are refused with the reason in the status,
// and the phone stays registered and callable on its current config; a
// config that breaks registration is rolled back.
func TestProvisioningRefusesBadFiles(t *testing.T) {
	k := lab.StartKamailio(t, lab.KamailioOptions{Users: map[string]string{"1001": "pw1001", "1002": "pw1002"}})
	b := lab.StartBaresip(t, lab.BaresipOptions{User: "1002", Password: "pw1002", Registrar: k.Addr(),
		MicWAV: lab.ToneWAV(t, 1100, 60*time.Second)})
	s := startProvServer(t)
	common := fmt.Sprintf("schema = 1\n[account]\nregistrar = %q\ndomain = \"127.0.0.1\"\n", k.Addr().String())
	good := "schema = 1\n[account]\nuser = \"1001\"\npassword = \"pw1001\"\n"
	s.put(t, "common.toml", common, false)
	s.put(t, provMAC+".toml", good, false)
	p := s.phone(t, "")
	_, err := p.Until(within, "registered", func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)

	mac := provMAC + ".toml"
	for _, tc := range []struct {
		name, data string
		badSig     bool
		result     string
		reason     string
	}{
		{"truncated", "schema = 1\n[account\nuser = \"10", false, "refused", mac + ":2"},
		{"binary", "\x00\x01\x02\xff\xfe", false, "refused", mac + ":1"},
		{"10 MB", "schema = 1\n" + strings.Repeat("# padding\n", 1<<20), false, "failed", "too large"},
		{"wrong types", "schema = 1\n[phone]\nmax_calls = \"four\"\n", false, "refused", mac + ":3: phone.max_calls: want an integer"},
		{"unknown key", "schema = 1\n[account]\nusr = \"1001\"\n", false, "refused", `did you mean "user"`},
		{"bad signature", good + "# changed\n", true, "failed", "signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.put(t, mac, tc.data, tc.badSig)
			st := checkNow(t, p, tc.result)
			if !strings.Contains(st.Provisioning.Error, tc.reason) {
				t.Fatalf("reason %q, want it to contain %q", st.Provisioning.Error, tc.reason)
			}
			if st.Registration.State != "registered" {
				t.Fatalf("registration %+v after a refused file", st.Registration)
			}
		})
	}

	// A file that loads but cannot register: applied, then rolled back.
	s.put(t, mac, "schema = 1\n[account]\nuser = \"1001\"\npassword = \"wrong\"\n", false)
	checkNow(t, p, "applied")
	st, err := p.Until(30*time.Second, "rolled back", func(s phonedStatus) bool { return provResult(s) == "rolled back" })
	must(t, err)
	if !strings.Contains(st.Provisioning.Error, "no registration within 10s") {
		t.Fatalf("rollback reason %q", st.Provisioning.Error)
	}
	_, err = p.Until(within, "registered again", func(s phonedStatus) bool { return s.Registration.State == "registered" })
	must(t, err)

	// Still callable.
	must(t, p.Hook(true))
	must(t, p.Keys("1002#"))
	b.WaitEvent(t, "CALL_INCOMING", within)
}
