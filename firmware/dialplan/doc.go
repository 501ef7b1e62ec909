// Package dialplan parses desk-phone digit maps and decides, after every
// key press, whether the phone should dial now, wait, or give up.
//
// The syntax is the digit map of MGCP (RFC 3435 §2.1.5) as Cisco, Polycom
// and Yealink phones use it, e.g.
//
//	[2-9]xxx|0T|*xx|911|9,1[2-9]xx[2-9]xxxxxx|011x.T
//
// Its elements:
//
//   - "|" separates alternative patterns; the whole map may be wrapped in
//     one pair of parentheses. Spaces, tabs and newlines are ignored.
//   - 0-9, "*" and "#" match themselves; "x" (or "X") matches any digit
//     0-9 (not "*" or "#").
//   - "[...]" matches one key of a set: digits, "*", "#", ranges such as
//     "2-9", optionally separated by commas: "[2-9]", "[135]", "[0-3,6]",
//     "[*#]".
//   - "." repeats the element before it zero or more times: "011x." is 011
//     followed by any number of digits, "x." any number of digits.
//   - "T" ends a pattern that is sent only after the long inter-digit timer,
//     because a longer number may follow ("0T", "011x.T").
//   - "," marks where a phone plays secondary (outside line) dial tone, as
//     in "9,1xxx"; it matches nothing.
//
// # When the phone dials
//
// Match is called with all digits collected so far, after each key press.
// Lookup also tells which inter-digit timer to (re)start:
//
//   - Complete (TimerNone): a pattern without T matches the digits exactly
//     and no pattern (that one included) could match a longer string:
//     dial at once. "911" with "911".
//   - CompleteAfterTimeout, TimerShort: a pattern without T matches, but a
//     longer string could still match some pattern ("011x." after
//     "0114", or "911" in a plan that also has "911x"): send when the
//     short inter-digit timer expires (Cisco's "short timer", 2-4 s), or
//     at once when the user presses the send key; a further key
//     re-evaluates.
//   - CompleteAfterTimeout, TimerLong: only patterns ending in T match
//     ("0T" after "0"): send when the long inter-digit timer expires
//     (Cisco's "long timer", MGCP's T, about 10 s) or on the send key.
//   - Partial, TimerLong: no pattern matches yet, but more digits could
//     complete one: wait for the next key with the long timer. If it
//     expires, the digits are incomplete: treat them as NoMatch.
//   - NoMatch (TimerNone): no pattern matches the digits or any extension
//     of them. Recommended behaviour, as Cisco and Polycom phones default
//     to: stop collecting, play the reorder (congestion/fast busy) tone and
//     do not send (Polycom digitmap.impossibleMatchHandling=0). A phone may
//     offer "send anyway" as a provisioning option for open plans, which
//     leaves the decision to the proxy.
//
// Match("") is Partial for any plan (the user has not started dialling),
// never Complete, even when a pattern such as "x." matches the empty
// string.
//
// # Contract
//
//   - Parse never panics; a bad map gets an error wrapping ErrSyntax (or
//     ErrTooLong) that names the 1-based column and what is wrong:
//     `dialplan: column 7: unclosed "["`.
//   - Limits keep the work per key press bounded: at most MaxPlanLen bytes
//     in a map, MaxPatterns patterns, MaxElements elements in one pattern;
//     Match treats more than MaxDigits digits, or any key other than 0-9,
//     "*", "#", as NoMatch.
//   - A *Plan is immutable after Parse and safe for concurrent use. Match
//     and Lookup are pure and do not allocate: each pattern is a small
//     NFA whose state set is one uint64, advanced once per digit.
package dialplan
