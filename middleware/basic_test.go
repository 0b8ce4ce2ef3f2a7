package middleware_test

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"testing"

	"github.com/secretmem/secretmem/middleware"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestBasicAndProxyCredentials pins the findings: Proxy-Authorization was
// left for handlers and DumpRequest, Basic credentials had no accessor,
// and a Basic credential without a colon was printed in clear.
func TestBasicAndProxyCredentials(t *testing.T) {
	pw, ptok, bare := marker(t), marker(t), marker(t)
	for _, c := range []struct {
		name               string
		header             http.Header
		user, pass, proxy  string
		proxyUser, proxyPw string
	}{
		{name: "Basic credentials", header: http.Header{"Authorization": {"Basic " + b64("alice:"+pw)}}, user: "alice", pass: pw},
		{name: "Basic with an empty password", header: http.Header{"Authorization": {"basic " + b64("key-as-user:")}}, user: "key-as-user"},
		{name: "Basic without a colon", header: http.Header{"Authorization": {"Basic " + b64(bare)}}},
		{name: "Basic that is not base64", header: http.Header{"Authorization": {"Basic " + bare + "!"}}},
		{name: "Basic with a control byte", header: http.Header{"Authorization": {"Basic " + b64("a:\x01"+pw)}}},
		{name: "a proxy bearer token", header: http.Header{"Proxy-Authorization": {"Bearer " + ptok}}, proxy: ptok},
		{name: "proxy Basic credentials", header: http.Header{"Proxy-Authorization": {"Basic " + b64("proxyuser:"+pw)}}, proxyUser: "proxyuser", proxyPw: pw},
		{name: "a repeated proxy header", header: http.Header{"Proxy-Authorization": {"Bearer " + ptok, "Bearer " + ptok}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&logs, nil))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			for k, v := range c.header {
				req.Header[k] = v
			}
			ran := false
			h := middleware.Logger(logger, middleware.WithHeaders("Authorization", "Proxy-Authorization"))(
				middleware.Tokens()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					ran = true
					ctx := r.Context()
					u, p, ok := middleware.BasicAuth(ctx)
					if ok != (c.user != "") || u != c.user || reveal(p, p.Len() > 0) != c.pass {
						t.Errorf("BasicAuth = %q, ok %v; want %q with its password", u, ok, c.user)
					}
					pu, pp, pok := middleware.ProxyBasicAuth(ctx)
					if pok != (c.proxyUser != "") || pu != c.proxyUser || reveal(pp, pok) != c.proxyPw {
						t.Errorf("ProxyBasicAuth = %q, ok %v; want %q", pu, pok, c.proxyUser)
					}
					if got := reveal(middleware.ProxyToken(ctx)); got != c.proxy {
						t.Errorf("ProxyToken found %v, want %v", got != "", c.proxy != "")
					}
					dump, _ := httputil.DumpRequest(r, false)
					for _, m := range []string{pw, ptok, bare, b64(bare), "Proxy-Authorization", "Authorization"} {
						if bytes.Contains(dump, []byte(m)) {
							t.Errorf("DumpRequest shows %s", strings.SplitN(m, "-", 2)[0])
						}
					}
				})))
			h.ServeHTTP(httptest.NewRecorder(), req)
			if !ran {
				t.Fatal("the handler did not run")
			}
			for _, m := range []string{pw, ptok, bare, b64(bare)} {
				if strings.Contains(logs.String(), m) {
					t.Error("the request log shows a credential")
				}
			}
		})
	}
}
