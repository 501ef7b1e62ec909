package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// leaves calls f with the path and value of every exported leaf field of
// v (a struct): scalars, Duration, Secret, slices and maps.
func leaves(v reflect.Value, path string, f func(string, reflect.Value)) {
	if v.Kind() != reflect.Struct || v.Type() == reflect.TypeOf(Duration{}) {
		f(path, v)
		return
	}
	for i := range v.NumField() {
		if sf := v.Type().Field(i); sf.IsExported() {
			leaves(v.Field(i), strings.TrimPrefix(path+"."+sf.Name, "."), f)
		}
	}
}

// Every field of Config is a key of the table: changing any one of them
// makes Diff report exactly one key. A field added without its key fails
// here, so the table stays the one place that says how a key applies.
func TestKeysCoverEveryField(t *testing.T) {
	var paths []string
	leaves(reflect.ValueOf(Default()).Elem(), "", func(p string, _ reflect.Value) { paths = append(paths, p) })
	for _, p := range paths {
		old, changed := Default(), Default()
		var field reflect.Value
		leaves(reflect.ValueOf(changed).Elem(), "", func(q string, v reflect.Value) {
			if q == p {
				field = v
			}
		})
		switch field.Kind() {
		case reflect.String:
			field.SetString(field.String() + "x")
		case reflect.Int:
			field.SetInt(field.Int() + 1)
		case reflect.Bool:
			field.SetBool(!field.Bool())
		case reflect.Slice:
			field.Set(reflect.Append(reflect.MakeSlice(field.Type(), 0, 1), reflect.ValueOf("x")))
		case reflect.Map:
			m := reflect.MakeMap(field.Type())
			m.SetMapIndex(reflect.ValueOf("k"), reflect.ValueOf("v"))
			field.Set(m)
		case reflect.Struct: // Duration
			field.Set(reflect.ValueOf(Duration{field.Interface().(Duration).Duration + time.Second}))
		default:
			t.Fatalf("%s: field kind %s not handled by this test", p, field.Kind())
		}
		if d := Diff(old, changed); len(d) != 1 {
			t.Errorf("changing Config.%s: Diff = %v, want one key (add it to Keys)", p, d)
		}
	}
	seen := map[string]bool{}
	for _, k := range Keys {
		if seen[k.Path] {
			t.Errorf("key %s twice in Keys", k.Path)
		}
		seen[k.Path] = true
	}
}

// Print writes a file that parses back to the same config, secrets aside,
// and never shows a secret.
func TestPrintRoundTrip(t *testing.T) {
	for _, file := range []string{"../../configs/phoned.toml", "../../configs/sim-a.toml", "testdata/full.toml"} {
		c, err := Load(file)
		if err != nil {
			t.Fatal(err)
		}
		c.Account.Password = ""
		if d := Diff(c, mustParse(t, Print(c))); len(d) != 0 {
			t.Errorf("%s: round trip without a password: Diff = %v", file, d)
		}
		c.Account.Password = "S3cret-marker"
		out := Print(c)
		if strings.Contains(out, "S3cret-marker") || !strings.Contains(out, "# password = (set, not shown)\n") {
			t.Fatalf("%s: password not redacted:\n%s", file, out)
		}
		back, err := Parse("printed.toml", []byte(out))
		if err != nil {
			t.Fatalf("%s: printed config does not parse: %v\n%s", file, err, out)
		}
		d := Diff(c, back)
		if len(d) != 1 || d[0].Key != "account.password" {
			t.Errorf("%s: after a round trip Diff = %v, want only the redacted password:\n%s", file, d, out)
		}
	}
}

func TestDiffClasses(t *testing.T) {
	old := Default()
	n := Default()
	n.Phone.DialPlan = "xxxx"
	n.Directory = map[string]string{"1": "sip:1@example.com"}
	if d := Diff(old, n); len(d) != 2 || Needs(d) != Hot {
		t.Fatalf("Diff = %v, Needs %v", d, Needs(d))
	}
	n.Account.Registrar = "pbx.example.com"
	if Needs(Diff(old, n)) != Reregister {
		t.Fatal("an account change must re-register")
	}
	n.SIP.Listen = "127.0.0.1:5070"
	if Needs(Diff(old, n)) != RestartIdle {
		t.Fatal("a listen address change must restart when idle")
	}
	if Needs(nil) != Hot || len(Diff(old, Default())) != 0 {
		t.Fatal("no change must need nothing")
	}
}
