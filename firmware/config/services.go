package config

// MaxServiceCode is the longest service code (phone.echo_test, phone.tone_test).
const MaxServiceCode = 16

// validateServiceCodes checks phone.echo_test and phone.tone_test: "" (off)
// or up to MaxServiceCode keys of the dial pad, and not both the same.
func (v *validator) validateServiceCodes(c *Config) {
	codes := []struct{ key, code string }{{"echo_test", c.Phone.EchoTest}, {"tone_test", c.Phone.ToneTest}}
	for _, s := range codes {
		if len(s.code) > MaxServiceCode {
			v.fail([]string{"phone", s.key}, "%q is longer than %d keys", s.code, MaxServiceCode)
			continue
		}
		for i := range len(s.code) {
			if !(s.code[i] >= '0' && s.code[i] <= '9' || s.code[i] == '*' || s.code[i] == '#') {
				v.fail([]string{"phone", s.key}, "%q: %q is not a key of the dial pad (0-9, *, #); \"\" turns the service off", s.code, s.code[i])
				break
			}
		}
	}
	if c.Phone.EchoTest != "" && c.Phone.EchoTest == c.Phone.ToneTest {
		v.fail([]string{"phone", "tone_test"}, "%q is also phone.echo_test", c.Phone.ToneTest)
	}
}
