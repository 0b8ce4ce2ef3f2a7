//go:build unix

package vaulttest

import "testing"

// ServicePolicy is what a service reading its configuration from Vault
// needs: KV data and metadata under secret/, the database engine's
// credentials for the role "app", and the renewal and revocation of the
// leases it holds.
const ServicePolicy = `path "secret/*" { capabilities = ["read"] }
path "database/creds/app" { capabilities = ["read"] }
path "sys/leases/renew" { capabilities = ["update"] }
path "sys/leases/revoke" { capabilities = ["update"] }`

// AppRole describes the AppRole role "app" that Server.AppRole makes.
// Its tokens carry the policy "app".
type AppRole struct {
	Policy   string // the rules of the policy "app"; "" is ServicePolicy
	TTL      string // its tokens' TTL; "" is Vault's default
	MaxTTL   string // how far its tokens renew; "" is Vault's default
	RoleID   string // "" for a random one
	SecretID string // "" for a random one
}

// AppRole enables the AppRole auth method and makes the role r, with r's
// role ID and a custom secret ID; it returns both. It enables the method,
// so it runs once per server start (again after a Restart, which forgets
// everything).
func (s *Server) AppRole(t testing.TB, r AppRole) (roleID, secretID string) {
	t.Helper()
	if r.Policy == "" {
		r.Policy = ServicePolicy
	}
	if r.RoleID == "" {
		r.RoleID = "role-" + randHex(6)
	}
	if r.SecretID == "" {
		r.SecretID = "sid-" + randHex(16)
	}
	role := map[string]any{"token_policies": []string{"app"}}
	if r.TTL != "" {
		role["token_ttl"] = r.TTL
	}
	if r.MaxTTL != "" {
		role["token_max_ttl"] = r.MaxTTL
	}
	s.API(t, "PUT", "sys/policies/acl/app", map[string]any{"policy": r.Policy})
	s.API(t, "POST", "sys/auth/approle", map[string]any{"type": "approle"})
	s.API(t, "POST", "auth/approle/role/app", role)
	s.API(t, "POST", "auth/approle/role/app/role-id", map[string]any{"role_id": r.RoleID})
	s.API(t, "POST", "auth/approle/role/app/custom-secret-id", map[string]any{"secret_id": r.SecretID})
	return r.RoleID, r.SecretID
}
