package provision

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/icholy/digest"
)

// authTransport answers a 401 with Basic (RFC 7617) or Digest (RFC 7616)
// credentials, as the server's WWW-Authenticate asks (Digest preferred
// when both are offered), and only for the directory's own host: a
// redirect elsewhere gets no credentials. Basic over plain http is refused
// unless the host is a loopback address (RFC 7617 §4: the password travels
// in clear). Digest over plain http is allowed: the password itself is not
// sent (RFC 7616 §5.1).
type authTransport struct {
	next           http.RoundTripper
	user, password string
	host           string // host[:port] of the directory URL
}

func (a *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := a.next.RoundTrip(req)
	if err != nil || res.StatusCode != http.StatusUnauthorized || req.URL.Host != a.host || req.Header.Get("Authorization") != "" {
		return res, err
	}
	challenges := res.Header.Values("WWW-Authenticate")
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()

	retry := req.Clone(req.Context())
	if chal, derr := digest.FindChallenge(res.Header); derr == nil {
		cred, err := digest.Digest(chal, digest.Options{
			Method: req.Method, URI: req.URL.RequestURI(), Count: 1,
			Username: a.user, Password: a.password,
		})
		if err != nil {
			// digest's errors name the algorithm or qop, never the password.
			return nil, fmt.Errorf("%w: digest challenge from %s: %w", ErrAuth, req.URL.Host, err)
		}
		retry.Header.Set("Authorization", cred.String())
	} else if hasScheme(challenges, "basic") {
		if req.URL.Scheme != "https" && !isLoopback(req.URL.Hostname()) {
			return nil, fmt.Errorf("%w: %s asks for Basic authentication over plain http: refused, the password would travel in clear (use https or Digest)", ErrAuth, req.URL.Host)
		}
		retry.SetBasicAuth(a.user, a.password)
	} else {
		return nil, fmt.Errorf("%w: %s answered 401 with no Basic or Digest challenge we support (%s)", ErrAuth, req.URL.Host, clip(strings.Join(challenges, ", "), 80))
	}
	return a.next.RoundTrip(retry)
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
