package api

import (
	"context"
	"net/http"
)

// Me is the answer of GET /me: who the key belongs to and the account's usage counters.
type Me struct {
	User User `json:"user"`
	// Operations is absent for the Guest and Partner roles.
	Operations []Operation `json:"operations"`
}

// User is the key's owner.
type User struct {
	ID            int64    `json:"id"`
	Sub           string   `json:"sub"`
	Username      string   `json:"username"`
	Email         string   `json:"email"`
	FullName      string   `json:"fullName"`
	Avatar        string   `json:"avatar"`
	IsPublic      bool     `json:"isPublic"`
	EmailVerified bool     `json:"emailVerified"`
	TeamID        int64    `json:"teamId"`
	TeamName      string   `json:"teamName"`
	TeamDomain    string   `json:"teamDomain"`
	Roles         []string `json:"roles"`
}

// Operation is one usage counter. Values can be fractional (storage in GB); 99999999 means unlimited.
type Operation struct {
	Name    string  `json:"name"`
	Limit   float64 `json:"limit"`
	Usage   float64 `json:"usage"`
	Overage float64 `json:"overage"`
}

// OperationAPIUsage names the counter of Postman API calls this month.
const OperationAPIUsage = "api_usage"

// Operation returns the counter with the given name.
func (m *Me) Operation(name string) (Operation, bool) {
	for _, op := range m.Operations {
		if op.Name == name {
			return op, true
		}
	}
	return Operation{}, false
}

// APIUsage returns the monthly Postman API call counter (api_usage).
func (m *Me) APIUsage() (Operation, bool) { return m.Operation(OperationAPIUsage) }

// GetMe calls GET /me. The call itself counts against the monthly quota.
func (c *Client) GetMe(ctx context.Context) (*Me, error) {
	var me Me
	if err := c.call(ctx, request{method: http.MethodGet, path: "/me"}, &me); err != nil {
		return nil, err
	}
	return &me, nil
}
