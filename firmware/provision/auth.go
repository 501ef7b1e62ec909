package provision

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/icholy/digest"
)

// credentials answer a 401 with Basic (RFC 7617) or Digest (RFC 7616)
// authentication, as the server's WWW-Authenticate asks (Digest preferred
// when both are offered). The client gives them to the directory's own
// host only: a redirect elsewhere gets none.
type credentials struct {
	user, password string
}

// authorize decides the Authorization header for a request to u after a
// 401 carrying hdr. Basic over plain http is refused unless the host is a
// loopback address (RFC 7617 §4: the password travels in clear). Digest
// over plain http is allowed: the password itself is not sent (RFC 7616
// §5.1), though a listener could try to guess it offline.
func (c credentials) authorize(hdr http.Header, method string, u *url.URL) (string, error) {
	challenges := hdr.Values("WWW-Authenticate")
	if chal, err := digest.FindChallenge(hdr); err == nil {
		cred, err := digest.Digest(chal, digest.Options{
			Method: method, URI: u.RequestURI(), Count: 1,
			Username: c.user, Password: c.password,
		})
		if err != nil {
			// digest's errors name the algorithm or qop, never the password.
			return "", fmt.Errorf("%w: digest challenge from %s: %w", ErrAuth, u.Host, err)
		}
		return cred.String(), nil
	}
	if !hasScheme(challenges, "basic") {
		return "", fmt.Errorf("%w: %s answered 401 with no Basic or Digest challenge we support (%s)", ErrAuth, u.Host, clip(printable(strings.Join(challenges, ", "), 200), 80))
	}
	if u.Scheme != "https" && !isLoopback(u.Hostname()) {
		return "", fmt.Errorf("%w: %s asks for Basic authentication over plain http: refused, the password would travel in clear (use https or Digest)", ErrAuth, u.Host)
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.user+":"+c.password)), nil
}

func hasScheme(challenges []string, scheme string) bool {
	for _, c := range challenges {
		for _, part := range strings.Split(c, ",") {
			f := strings.Fields(part)
			if len(f) > 0 && strings.EqualFold(f[0], scheme) {
				return true
			}
		}
	}
	return false
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
