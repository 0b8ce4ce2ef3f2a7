package logging

import "strings"

// tokenRule is one vendor token format: a literal prefix followed by at
// least min bytes of class.
type tokenRule struct {
	prefix string
	class  *charClass
	min    int
}

var tokenRules = []tokenRule{
	{"AKIA", upperDigit, 16}, {"ASIA", upperDigit, 16}, {"AGPA", upperDigit, 16},
	{"AIDA", upperDigit, 16}, {"AROA", upperDigit, 16}, {"AIPA", upperDigit, 16},
	{"ANPA", upperDigit, 16}, {"ANVA", upperDigit, 16}, {"ABIA", upperDigit, 16},
	{"ACCA", upperDigit, 16},
	{"AIza", b64url, 30},
	{"ya29.", b64url, 20},
	{"ghp_", alnum, 30}, {"gho_", alnum, 30}, {"ghu_", alnum, 30},
	{"ghs_", alnum, 30}, {"ghr_", alnum, 30}, {"github_pat_", alnumUnder, 22},
	{"glpat-", b64url, 20}, {"gldt-", b64url, 20}, {"glrt-", b64url, 20},
	{"glptt-", b64url, 20}, {"glsoat-", b64url, 20}, {"gloas-", b64url, 20},
	{"xoxb-", alnumDash, 10}, {"xoxp-", alnumDash, 10}, {"xoxa-", alnumDash, 10},
	{"xoxr-", alnumDash, 10}, {"xoxs-", alnumDash, 10}, {"xoxo-", alnumDash, 10},
	{"xoxe-", alnumDash, 10}, {"xoxe.", alnumDash, 10}, {"xapp-", alnumDash, 10},
	{"sk_live_", alnum, 16}, {"sk_test_", alnum, 16}, {"rk_live_", alnum, 16},
	{"rk_test_", alnum, 16}, {"whsec_", alnum, 16},
	{"sk-ant-", b64url, 20}, {"sk-proj-", b64url, 20}, {"sk-", b64url, 32},
	{"npm_", alnum, 30}, {"pypi-", b64url, 50}, {"hf_", letters, 30},
	{"SG.", b64urlDot, 40}, {"dop_v1_", hexDigit, 64}, {"doo_v1_", hexDigit, 64},
	{"dor_v1_", hexDigit, 64}, {"hvs.", b64url, 24}, {"hvb.", b64url, 24},
	{"hvr.", b64url, 24}, {"shpat_", hexDigit, 32}, {"shpss_", hexDigit, 32},
	{"shpca_", hexDigit, 32}, {"shppa_", hexDigit, 32},
	{"sq0atp-", b64url, 22}, {"sq0csp-", b64url, 22},
}

func vendorToken(s string, i int) (span, bool) {
	for _, r := range rulesByFirst[s[i]] {
		if !strings.HasPrefix(s[i:], r.prefix) {
			continue
		}
		body := i + len(r.prefix)
		if end := run(s, body, r.class); end-body >= r.min {
			return span{i, end}, true
		}
	}
	return span{}, false
}
