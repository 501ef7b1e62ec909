package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const pw = "hunter2-Zq9"

// The password must not appear in errors, fmt output, slog output or JSON.
func TestPasswordNeverShown(t *testing.T) {
	c := mustParse(t, "schema = 1\n[account]\nuser = \"1001\"\npassword = \""+pw+"\"\n")
	if c.Account.Password.Reveal() != pw || string(c.Account.Password) != pw {
		t.Fatalf("password not parsed")
	}

	var out []string
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
		out = append(out, fmt.Sprintf(f, c), fmt.Sprintf(f, *c), fmt.Sprintf(f, c.Account), fmt.Sprintf(f, c.Account.Password))
	}
	out = append(out, fmt.Sprint(c.Account), c.Account.String(), c.Account.Password.String(), c.Account.GoString())

	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		l := slog.New(h)
		l.Info("loaded", "config", c, "account", c.Account, "password", c.Account.Password, "cfg", *c)
		l.Info("any", slog.Any("account", &c.Account))
	}
	out = append(out, buf.String())

	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(js))

	for _, s := range out {
		if strings.Contains(s, pw) {
			t.Errorf("password shown in %q", s)
		}
	}
	if !strings.Contains(buf.String(), "password=[redacted]") || !strings.Contains(buf.String(), `"password":"[redacted]"`) {
		t.Errorf("slog output does not show the redaction:\n%s", buf.String())
	}
	if got := fmt.Sprint(Secret("")); got != "" {
		t.Errorf("empty Secret prints %q", got)
	}
}

// Files with problems on or near the password line never echo it.
func TestPasswordNotInErrors(t *testing.T) {
	for _, src := range []string{
		// wrong type / unknown key / validation around it
		"schema = 1\n[account]\npassword = [\"" + pw + "\"]\n",
		"schema = 1\n[account]\npasword = \"" + pw + "\"\n",
		"schema = 1\n[sip]\npassword = \"" + pw + "\"\n",
		"schema = 1\n[account]\npassword = \"" + pw + "\"\nuser = \"a b\"\n[audio]\ndevice = \"x\"\n",
		"schema = 1\n[account]\npassword = \"" + pw + "\"\npassword = \"" + pw + "\"\n",
		// syntax errors inside the value
		"schema = 1\n[account]\npassword = \"" + pw + "\\q\"\n",
		"schema = 1\n[account]\npassword = \"" + pw + "\" " + pw + "\n",
		"schema = 1\n[account]\npassword = " + pw + "\n",
		"schema = 1\n[account]\npassword = \"\"\"\n" + pw + "\n\\q\"\"\"\n",
		"schema = 1\naccount = { user = \"a\", password = \"" + pw + "\x01\" }\n",
		"schema = 1\naccount.password = '" + pw + "\n",
		"schema = 1\n[account]\npassword = 99999999999999999999\n",
		"schema = 1\n[account]\nPASSWORD = \"" + pw + "\\x\"\n",
		// passwords in URIs
		"schema = 1\n[account]\nregistrar = \"sip:1001:" + pw + "@pbx\"\n",
		"schema = 1\n[account]\noutbound_proxy = \"sip:1001:" + pw + "@pbx x\"\n",
		"schema = 1\n[directory]\n1 = \"sip:1001:" + pw + "@pbx\"\n",
	} {
		_, err := Parse(name, []byte(src))
		if err == nil {
			t.Errorf("Parse(%q) succeeded", src)
			continue
		}
		if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), "99999") {
			t.Errorf("error shows the password: %v", err)
		}
	}
}
