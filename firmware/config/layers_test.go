package config

import (
	"strings"
	"testing"
)

// Files merge key by key, later files winning, tables merged, arrays
// whole; every problem names its file.
func TestParseLayers(t *testing.T) {
	local := Layer{"phone.toml", []byte("schema = 1\n[account]\nuser = \"local\"\n[provisioning]\nurl = \"https://prov.example.com/{mac}/\"\n")}
	common := Layer{"https://prov/common.toml", []byte("schema = 1\n[account]\nuser = \"common\"\nregistrar = \"pbx.example.com\"\n[audio]\ncodecs = [\"PCMA\", \"PCMU\"]\n[directory]\n\"1\" = \"sip:1@pbx.example.com\"\n")}
	mac := Layer{"https://prov/001122334455.toml", []byte("schema = 1\n[account]\nuser = \"1001\"\n[audio]\ncodecs = [\"PCMU\"]\n[directory]\n\"2\" = \"sip:2@pbx.example.com\"\n")}
	c, err := ParseLayers(local, common, mac)
	if err != nil {
		t.Fatal(err)
	}
	if c.Account.User != "1001" || c.Account.Registrar != "pbx.example.com" || len(c.Audio.Codecs) != 1 ||
		len(c.Directory) != 2 || c.Provisioning.URL != "https://prov.example.com/{mac}/" {
		t.Fatalf("merged: %+v %v %v %q", c.Account, c.Audio.Codecs, c.Directory, c.Provisioning.URL)
	}

	badMAC := Layer{"https://prov/001122334455.toml", []byte("schema = 1\n\n[audio]\ndevice = \"wav\"\n[phone]\nmax_calls = 99\n")}
	badCommon := Layer{"https://prov/common.toml", []byte("schema = 1\n[sip]\nlistne = \"x\"\n")}
	_, err = ParseLayers(local, badCommon, badMAC)
	want := []string{
		`https://prov/common.toml:3: sip.listne: unknown key (did you mean "listen"?)`,
		`https://prov/001122334455.toml:3: audio.wav.input: required when audio.device is "wav"`,
		`https://prov/001122334455.toml:3: audio.wav.output: required when audio.device is "wav"`,
		`https://prov/001122334455.toml:6: phone.max_calls: 99 out of range (want 1-8)`,
	}
	if got := lines(err); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("decode errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	_, err = ParseLayers(local, common, badMAC)
	want = []string{
		`https://prov/001122334455.toml:3: audio.wav.input: required when audio.device is "wav"`,
		`https://prov/001122334455.toml:3: audio.wav.output: required when audio.device is "wav"`,
		`https://prov/001122334455.toml:6: phone.max_calls: 99 out of range (want 1-8)`,
	}
	if got := lines(err); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("validation errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Each fetched file needs schema = 1 and valid TOML, and may not touch
// [provisioning] unless the local file allows it.
func TestParseLayersRefusals(t *testing.T) {
	local := Layer{"phone.toml", []byte("schema = 1\n")}
	for _, tt := range []struct {
		name string
		data string
		want string
	}{
		{"no schema", "[log]\nlevel = \"debug\"\n", "f.toml:1: schema: required key missing: add the line `schema = 1` at the top of the file"},
		{"schema 2", "schema = 2\n", "f.toml:1: schema: unsupported schema 2 (this firmware reads 1)"},
		{"syntax", "schema = 1\n[log\n", "f.toml:2:5: syntax error"},
		{"binary", "schema = 1\n\x00\x01\x02", "f.toml:2"},
		{"provisioning", "schema = 1\n[provisioning]\nurl = \"https://evil.example.com/\"\n",
			"f.toml:2: provisioning: a fetched file may not change [provisioning]"},
		{"system", "schema = 1\n[system]\nstate_dir = \"/tmp/x\"\n", "f.toml:2: system: a fetched file may not change [system]"},
		{"too big", "schema = 1\n" + strings.Repeat("#", MaxSize), "f.toml:1: file too large"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseLayers(local, Layer{"f.toml", []byte(tt.data)})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to start with %q", err, tt.want)
			}
		})
	}
	allow := Layer{"phone.toml", []byte("schema = 1\n[provisioning]\nallow_override = true\n")}
	c, err := ParseLayers(allow, Layer{"f.toml", []byte("schema = 1\n[provisioning]\ninterval = \"1h\"\n")})
	if err != nil || c.Provisioning.Interval.Hours() != 1 || !c.Provisioning.AllowOverride {
		t.Fatalf("allowed override: %v %+v", err, c)
	}
}

func FuzzParseLayers(f *testing.F) {
	f.Add([]byte("schema = 1\n[account]\nuser = \"x\"\n"), []byte("schema = 1\n[audio]\ndevice = \"wav\"\n"))
	f.Add([]byte("schema = 1\n[provisioning]\nallow_override = true\n"), []byte("schema = 1\n[provisioning]\nurl = \"file:///x/\"\n"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		c, err := ParseLayers(Layer{"a.toml", a}, Layer{"b.toml", b})
		if (c == nil) == (err == nil) {
			t.Fatalf("config %v and error %v", c, err)
		}
		if err != nil {
			for _, l := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(l, "a.toml:") && !strings.HasPrefix(l, "b.toml:") {
					t.Fatalf("problem without its file: %q", l)
				}
			}
		}
	})
}

func lines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}
