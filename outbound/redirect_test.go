package outbound_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/secretmem/secretmem/outbound"
)

// hop is what a server saw on one request of a redirect chain.
type hop struct {
	server, path string
	credential   bool
}

// redirectPair starts two servers on 127.0.0.1, on two ports: two origins
// on one host. Paths ending in "-to-X" redirect to the same path's tail on
// server X; everything else answers 200.
func redirectPair(t *testing.T, credentialHeader string) (a, b string, hops func() []hop) {
	t.Helper()
	var (
		mu   sync.Mutex
		log  []hop
		urls [2]string
	)
	handler := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			log = append(log, hop{name, r.URL.Path, r.Header.Get(credentialHeader) != ""})
			urls := urls
			mu.Unlock()
			switch r.URL.Path {
			case "/a-to-b":
				http.Redirect(w, r, urls[1]+"/b-to-a", http.StatusFound)
			case "/b-to-a":
				http.Redirect(w, r, urls[0]+"/land", http.StatusFound)
			case "/to-b":
				http.Redirect(w, r, urls[1]+"/land", http.StatusFound)
			case "/same":
				http.Redirect(w, r, "/land", http.StatusFound)
			case "/same-abs":
				http.Redirect(w, r, urls[0]+"/land", http.StatusTemporaryRedirect)
			}
		}
	}
	sa := serveFunc(t, handler("A"))
	sb := serveFunc(t, handler("B"))
	mu.Lock()
	urls = [2]string{sa.URL, sb.URL}
	mu.Unlock()
	return sa.URL, sb.URL, func() []hop {
		mu.Lock()
		defer mu.Unlock()
		h := log
		log = nil
		return h
	}
}

func TestRedirectsKeepTheCredentialOnlyWithinTheFirstOrigin(t *testing.T) {
	a, _, hops := redirectPair(t, "Authorization")
	client := &http.Client{Transport: newTransport(t, nil, outbound.Bearer(fixed(cell(t, marker(t))), "k"))}
	for _, c := range []struct {
		name, path string
		want       []hop
	}{
		{"to another port of the same host", "/to-b",
			[]hop{{"A", "/to-b", true}, {"B", "/land", false}}},
		{"to a path on the same origin", "/same",
			[]hop{{"A", "/same", true}, {"A", "/land", true}}},
		{"to the same origin by absolute URL (307)", "/same-abs",
			[]hop{{"A", "/same-abs", true}, {"A", "/land", true}}},
		{"away and back: once it left, never again", "/a-to-b",
			[]hop{{"A", "/a-to-b", true}, {"B", "/b-to-a", false}, {"A", "/land", false}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, err := client.Get(a + c.path)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			got := hops()
			if len(got) != len(c.want) {
				t.Fatalf("hops %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("hop %d: %+v, want %+v", i, got[i], c.want[i])
				}
			}
		})
	}
}

// The same rule for an API-key header, which net/http itself would copy
// to any host on a redirect: it only knows Authorization and cookies.
func TestRedirectsDropAnAPIKeyHeaderToo(t *testing.T) {
	a, _, hops := redirectPair(t, "X-Api-Key")
	client := &http.Client{Transport: newTransport(t, nil, outbound.APIKey("X-Api-Key", fixed(cell(t, marker(t))), "k"))}
	resp, err := client.Get(a + "/to-b")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got := hops(); len(got) != 2 || !got[0].credential || got[1].credential {
		t.Errorf("hops %v: want the key on the first hop only", got)
	}
}

// What net/http does with a caller's own Authorization header on the same
// redirect: it compares host names without ports, so another port of the
// same host still gets it. The package documentation says this Transport
// is stricter; this test notices if net/http changes.
func TestNetHTTPKeepsACallersAuthorizationAcrossPorts(t *testing.T) {
	a, _, hops := redirectPair(t, "Authorization")
	req, _ := http.NewRequest("GET", a+"/to-b", nil)
	req.Header.Set("Authorization", "Bearer caller")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got := hops(); len(got) != 2 || !got[1].credential {
		t.Errorf("hops %v: net/http no longer sends a caller's Authorization to another port; update the package documentation", got)
	}
}

// scripted is a base RoundTripper that answers from a script of 307
// redirects keyed by URL and records every request's URL and
// Authorization header: redirects no pair of real servers can make (a
// scheme change on one host and port, userinfo in Location) without a
// network.
type scripted struct {
	to   map[string]string // URL -> Location
	urls []string
	auth []string
}

func (s *scripted) RoundTrip(req *http.Request) (*http.Response, error) {
	s.urls = append(s.urls, req.URL.String())
	s.auth = append(s.auth, req.Header.Get("Authorization"))
	if req.Body != nil {
		_ = req.Body.Close()
	}
	resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody, Request: req}
	if loc, ok := s.to[req.URL.String()]; ok {
		resp.StatusCode = http.StatusTemporaryRedirect
		resp.Header.Set("Location", loc)
	}
	return resp, nil
}

func TestRedirectsThatChangeSchemeOrCarryUserinfo(t *testing.T) {
	for _, c := range []struct {
		name     string
		from, to string
		second   bool // the credential goes to the second hop
	}{
		{"https to http on the same host and port", "https://api.test:8443/a", "http://api.test:8443/b", false},
		{"https to http on the default ports", "https://api.test/a", "http://api.test/b", false},
		{"http to https (an upgrade is another origin too)", "http://api.test/a", "https://api.test/b", false},
		{"an explicit default port and another case: the same origin", "https://api.test/a", "HTTPS://API.test:443/b", true},
		{"a trailing dot: another host (stricter is safer)", "https://api.test/a", "https://api.test./b", false},
		{"userinfo for the same origin: ours replaces it", "https://api.test/a", "https://u:p@api.test/b", true},
		{"userinfo for another host: net/http's Basic from it, never ours", "https://api.test/a", "https://u:p@evil.test/b", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := &scripted{to: map[string]string{c.from: c.to}}
			m := marker(t)
			client := &http.Client{Transport: newTransport(t, base, outbound.Bearer(fixed(cell(t, m)), "k"))}
			resp, err := client.Post(c.from, "text/plain", strings.NewReader("body"))
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if len(base.urls) != 2 {
				t.Fatalf("%d hops, want 2", len(base.urls))
			}
			if base.auth[0] != "Bearer "+m {
				t.Error("the first hop went without the credential")
			}
			if got := base.auth[1] == "Bearer "+m; got != c.second {
				t.Errorf("the second hop (%s) carried the credential: %v, want %v", base.urls[1], got, c.second)
			}
			if strings.Contains(base.auth[1], m) && !c.second {
				t.Error("the second hop carried the credential in another form")
			}
		})
	}
	t.Run("a same-origin loop keeps it until the client gives up", func(t *testing.T) {
		base := &scripted{to: map[string]string{"https://api.test/a": "https://api.test/a"}}
		m := marker(t)
		client := &http.Client{Transport: newTransport(t, base, outbound.Bearer(fixed(cell(t, m)), "k"))}
		_, err := client.Get("https://api.test/a")
		if err == nil || strings.Contains(err.Error(), m) {
			t.Fatalf("a redirect loop: %v", err)
		}
		for i, a := range base.auth {
			if a != "Bearer "+m {
				t.Errorf("hop %d of %d went without the credential", i, len(base.auth))
			}
		}
	})
}
