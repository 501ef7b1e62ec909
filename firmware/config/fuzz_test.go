package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: no input panics, every error wraps ErrInvalid and every line of
// it names the file, and an accepted file gives a Config that validates.
// Seeds: the files in configs/ and in testdata/, and hand-picked edge cases.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{configsDir, "testdata"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.toml"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	for _, s := range []string{
		"",
		"schema = 1",
		"schema = 2\n[x]\n",
		"schema = 1\n[sip]\nlisten = \"[::1]:5060\"\n[account]\nregistrar = \"sip:pbx;lr\"\n",
		"schema = 1\n[[sip]]\n[[sip]]\n",
		"schema = 1\na.b.c = 1\na.b = 2\n",
		"schema = 1\naudio = { wav = { input = \"x\" } }\n[audio.pulse]\n",
		"schema = 1\n[directory]\n\"*#\" = \"sip:a@b\"\n\"\" = 1\n",
		"schema = 1\nx = [[[[[[[[[[]]]]]]]]]]\n",
		"schema = 1\n[account]\npassword = \"\"\"a\n\\q\"\"\"\n",
		"schema = 1\nx = '''a''''\ny = \"\"\"b\"\"\"\"\n",
		"\uFEFFschema = 1\r\n[log]\r\nlevel = \"debug\"\r\n",
		"schema = 1\n[audio]\ncodecs = [\"PCMU\", 1, \"PCMU\", \"\"]\nrtp_port_min = -9223372036854775808\n",
		"schema = 1\n[phone]\ninterdigit_timeout = \"9223372036854775807ns\"\n",
		"schema = 1\n[api]\nlisten = \"0.0.0.0:8443\"\npassword = \"x\"\ncert = \"c.pem\"\n[system]\nstate_dir = \"\"\n",
		"schema = 1\n[api]\nlisten = \"[::]:1\"\npassword = 1\n[system]\nstate_dir = 2\n",
		"schema = 1\n[sip]\ntransport = \"tls\"\nca = \"/dev/null\"\nclient_cert = \"x\"\n[account]\nregistrar = \"sips:pbx:5061\"\n",
		"schema = 1\n[sip]\nclient_key = \"\"\nca = \"\\u0000\"\n[account]\noutbound_proxy = \"SIPS:a@b;transport=tls\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.toml", data)
		if err != nil {
			if c != nil {
				t.Fatal("Config returned with an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.toml:") {
					t.Fatalf("error line without file name: %q", line)
				}
				if strings.Contains(line, "internal error") {
					t.Fatalf("recovered panic: %s", line)
				}
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config does not validate: %v", err)
		}
		_ = c.SIPListen()
		_ = c.Domain()
		_ = c.LogValue().String()
		if c.APIBeyondLoopback() && c.API.Password == "" {
			t.Fatalf("accepted api.listen %s without api.password", c.API.Listen)
		}
	})
}
