package board

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/deskphone/phoned/drivers/gpio"
	"github.com/deskphone/phoned/drivers/gpio/gpiofake"
	"github.com/deskphone/phoned/firmware/clock"
	"github.com/deskphone/phoned/firmware/phone"
)

func TestLookup(t *testing.T) {
	b, err := Lookup("sim")
	if err != nil || b.Keypad != "terminal" || b.File != "board/sim.toml" {
		t.Fatalf("sim: %+v %v", b, err)
	}
	if got := strings.Join(b.Outputs, ","); got != "led_line,led_message,ringer" {
		t.Fatalf("sim outputs = %s", got)
	}
	_, err = Lookup("yealink-t46")
	if !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), `"yealink-t46"`) || !strings.Contains(err.Error(), "sim") {
		t.Fatalf("unknown board error = %v", err)
	}
	if got := strings.Join(Names(), ","); got != "rpi4,sim" {
		t.Fatalf("Names() = %s", got)
	}
}

func TestRPi4(t *testing.T) {
	b, err := Lookup("rpi4")
	if err != nil {
		t.Fatal(err)
	}
	if b.Keypad != KeypadGPIO || b.Hook == nil || b.Hook.Line != (gpio.Spec{Chip: "gpiochip0", Offset: 4, ActiveLow: true, Pull: gpio.PullUp}) {
		t.Fatalf("hook = %+v", b.Hook)
	}
	if len(b.Matrix.Rows) != 4 || len(b.Matrix.Cols) != 4 || b.Matrix.Map[3][3] != "transfer" || len(b.Keys) != 4 {
		t.Fatalf("keypad = %+v keys %+v", b.Matrix, b.Keys)
	}
	if b.Lines["ringer"].Name != "GPIO25" || b.Line("hook.line") != 11 {
		t.Fatalf("ringer %+v, hook.line at line %d", b.Lines["ringer"], b.Line("hook.line"))
	}
}

func TestTemplateParses(t *testing.T) {
	data, err := os.ReadFile("template.toml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse("board/template.toml", data)
	if err != nil {
		t.Fatal(err)
	}
	if b.Name != "template" || b.Lines["led_message"] != (gpio.Spec{}) || len(b.Outputs) != 4 {
		t.Fatalf("template = %+v", b)
	}
}

const good = `name = "x"
[hook]
line = { chip = "c", offset = 0 }
[keypad]
kind = "gpio"
rows = [{ chip = "c", offset = 1 }, { chip = "c", offset = 2 }]
cols = [{ chip = "c", offset = 3 }, { chip = "c", offset = 4 }]
map = [["1", "2"], ["3", "4"]]
`

// Every board-file error names the file, the line and the field.
func TestParseErrors(t *testing.T) {
	for _, tt := range []struct{ name, src, want string }{
		{"syntax", "name = \n", "x.toml:1:8: syntax error:"},
		{"no name", "[keypad]\nkind = \"terminal\"\n", "x.toml:1: name: required key missing"},
		{"unknown key", "name = \"x\"\ncolour = 1\n", "x.toml:2: colour: unknown key"},
		{"wrong type", "name = 3\n", "x.toml:1: name: want a string, got integer"},
		{"set twice", "name = \"x\"\nname = \"y\"\n", "x.toml:2: name: set twice (first on line 1)"},
		{"kind", "name = \"x\"\n[keypad]\nkind = \"usb\"\n", `x.toml:3: keypad.kind: unknown keypad kind "usb"`},
		{"missing hook", "name = \"x\"\n[keypad]\nkind = \"gpio\"\n", `x.toml:1: hook.line: required for keypad.kind = "gpio"`},
		{"missing hook line", "name = \"x\"\n[keypad]\nkind = \"gpio\"\n[hook]\ncontact = \"normally_open\"\n", "x.toml:4: hook.line: required key missing"},
		{"line twice", strings.Replace(good, `offset = 4 }]`, `offset = 1 }]`, 1), "x.toml:7: keypad.cols[1]: c line 1 already used by keypad.rows[0] (line 6)"},
		{"line by name twice", "name = \"x\"\n[keypad]\nkind = \"gpio\"\n[hook]\nline = { name = \"H\" }\n[outputs]\nringer = { name = \"H\" }\n", `x.toml:7: outputs.ringer: line "H" already used by hook.line (line 5)`},
		{"map rows", strings.Replace(good, `, ["3", "4"]]`, `]`, 1), "x.toml:8: keypad.map: 1 rows of keys for 2 row lines"},
		{"map cols", strings.Replace(good, `["3", "4"]`, `["3"]`, 1), "x.toml:8: keypad.map[1]: 1 keys for 2 column lines"},
		{"unknown key name", strings.Replace(good, `"4"]`, `"A"]`, 1), `x.toml:8: keypad.map[1][1]: unknown key "A"`},
		{"key twice", strings.Replace(good, `"4"]`, `"1"]`, 1), `x.toml:8: keypad.map[1][1]: key "1" already mapped at keypad.map[0][0]`},
		{"fkey twice", good + "[[keys]]\nkey = \"2\"\nline = { chip = \"c\", offset = 9 }\n", `x.toml:10: keys[0].key: key "2" already mapped at keypad.map[0][1]`},
		{"no rows", strings.Replace(good, "rows = [{ chip = \"c\", offset = 1 }, { chip = \"c\", offset = 2 }]\n", "", 1), "x.toml:4: keypad.rows: required key missing"},
		{"offset without chip", "name = \"x\"\n[keypad]\nkind = \"gpio\"\n[hook]\nline = { offset = 3 }\n", "x.toml:5: hook.line.chip: required key missing: the chip of offset 3"},
		{"name and offset", "name = \"x\"\n[keypad]\nkind = \"gpio\"\n[hook]\nline = { name = \"a\", offset = 3 }\n", "x.toml:5: hook.line.offset: give name or offset, not both"},
		{"bad pull", "name = \"x\"\n[keypad]\nkind = \"gpio\"\n[hook]\nline = { name = \"a\", pull = \"sideways\" }\n", `x.toml:5: hook.line.pull: unknown pull "sideways"`},
		{"bad contact", "name = \"x\"\n[keypad]\nkind = \"gpio\"\n[hook]\nline = { name = \"a\" }\ncontact = \"nc\"\n", `x.toml:6: hook.contact: unknown contact "nc"`},
		{"flash order", "name = \"x\"\n[keypad]\nkind = \"gpio\"\n[hook]\nline = { name = \"a\" }\nflash_min = \"1s\"\nflash_max = \"500ms\"\n", "x.toml:6: hook.flash_min: 1s is not below flash_max 500ms"},
		{"bad duration", good + "scan_interval = \"fast\"\n", `x.toml:9: keypad.scan_interval: invalid duration "fast"`},
		{"unknown output", "name = \"x\"\n[outputs]\nbell = \"memory\"\n", "x.toml:3: outputs.bell: unknown output"},
		{"gpio output on sim", "name = \"x\"\n[outputs]\nringer = { name = \"R\" }\n", `x.toml:3: outputs.ringer: GPIO outputs need keypad.kind = "gpio"`},
		{"hook on terminal", "name = \"x\"\n[hook]\nline = { name = \"a\" }\n", "x.toml:2: hook: a \"terminal\" board"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.toml", []byte(tt.src))
			if err == nil || !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) && !strings.Contains(err.Error(), "\n"+tt.want) {
				t.Fatalf("error:\n%s\nwant a line starting\n%s", err, tt.want)
			}
		})
	}
}

func TestOpenUnknownLine(t *testing.T) {
	b, err := Parse("x.toml", []byte(strings.Replace(good, "offset = 4 }]", "offset = 40 }]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	chip := gpiofake.NewChip("c", 8)
	_, err = b.Open(chip, clock.NewFake(clockStart), nopPoster{}, nil)
	if !errors.Is(err, gpio.ErrNoLine) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	if want := "x.toml:7: keypad.cols[1]: no such GPIO line: c line 40 (the chip has 8 lines)"; err.Error() != want {
		t.Fatalf("err = %q\nwant  %q", err, want)
	}
	// One line named twice, by name and by offset, is found at open.
	b, err = Parse("y.toml", []byte(good+"[outputs]\nringer = { name = \"RING\" }\n"))
	if err != nil {
		t.Fatal(err)
	}
	chip.SetName(3, "RING")
	_, err = b.Open(chip, clock.NewFake(clockStart), nopPoster{}, nil)
	if err == nil || !strings.Contains(err.Error(), `y.toml:10: outputs.ringer: line "RING" is the line of keypad.cols[0] (line 7)`) {
		t.Fatalf("err = %v", err)
	}
	// The whole board opens on a chip that has every line.
	b, _ = Parse("z.toml", []byte(good))
	hw, err := b.Open(gpiofake.NewChip("c", 8), clock.NewFake(clockStart), nopPoster{}, nil)
	if err != nil || hw.Scanner == nil || hw.Hook == nil {
		t.Fatalf("open: %+v %v", hw, err)
	}
}

type nopPoster struct{}

func (nopPoster) Post(phone.Event) error { return nil }

func FuzzParse(f *testing.F) {
	for _, name := range []string{"sim.toml", "rpi4.toml", "template.toml"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(good))
	f.Add([]byte("name = \"x\"\n[keypad]\nkind = \"gpio\"\nmap = [[[\"1\"]]]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Parse("fuzz.toml", data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.toml:") || strings.Contains(line, "internal error") {
					t.Fatalf("bad error line %q", line)
				}
			}
			return
		}
		if b.Name == "" || (b.Keypad == KeypadGPIO) != (b.Hook != nil) {
			t.Fatalf("accepted %+v", b)
		}
	})
}
