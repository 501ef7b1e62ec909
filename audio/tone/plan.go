package tone

// Name identifies a call-progress tone within a Plan.
type Name string

// Tone names every Plan should define.
const (
	Dial           Name = "dial"
	Ringback       Name = "ringback"
	Busy           Name = "busy"
	Congestion     Name = "congestion" // reorder, fast busy
	OffHookWarning Name = "offhook-warning"
	Confirm        Name = "confirm"
)

// Plan maps tone names to tones for one country or site. Treat the
// package-level plans as read-only; copy with maps.Clone to customise.
type Plan map[Name]Tone

// US is the North American plan (precise tone plan, ANSI T1.401; cadences
// per Telcordia GR-506).
var US = Plan{
	Dial:           MustParse("350+440/0"),
	Ringback:       MustParse("440+480/2000,0/4000"),
	Busy:           MustParse("480+620/500,0/500"),
	Congestion:     MustParse("480+620/250,0/250"),
	OffHookWarning: MustParse("1400+2060+2450+2600/100,0/100"),
	Confirm:        MustParse("350+440/100,0/100,350+440/100,0/100,350+440/100,0/100"),
}

// Plans holds the built-in plans by lower-case ISO 3166 country code.
var Plans = map[string]Plan{
	"us": US,
}
