package slackbot

import (
	"github.com/pmops/pmops/internal/slackrender"
	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/vault"
)

// volatileNote is shown under a confirmation whose payload is sealed under a per-process key.
const volatileNote = "This confirmation is held in memory only: it stops working if pmops restarts."

// actionSealer picks the key that seals pending actions: the bot's vault (PMOPS_SECRET_KEY) when it has one, so
// confirmations survive a restart; otherwise a per-process key, so nothing readable is ever at rest. It reports
// whether the key is per-process.
func actionSealer(v Sealer) (Sealer, bool, error) {
	if v != nil {
		return v, false, nil
	}
	e, err := vault.NewEphemeral()
	if err != nil {
		return nil, false, err
	}
	return e, true, nil
}

// actionAD binds a sealed payload to its token and owner, so a payload copied to another row does not open.
func actionAD(token string, owner store.UserRef) []byte {
	return vault.AssociatedData("action-token", token, owner.EnterpriseID, owner.TeamID, owner.UserID)
}

// sealAction seals a pending action's payload for the store.
func (d *Dispatcher) sealAction(token string, owner store.UserRef, payload []byte) ([]byte, error) {
	return d.actions.Seal(payload, actionAD(token, owner))
}

// openAction opens a payload sealed by sealAction. It fails for a payload sealed before a restart under a
// per-process key.
func (d *Dispatcher) openAction(token string, a store.PendingAction) ([]byte, error) {
	return d.actions.Open(a.Payload, actionAD(token, a.Owner))
}

// groupFor is the store group of a button this renderer makes: Confirm and Cancel answer one question, so using
// one spends the other (and deletes its sealed payload at once, not at expiry). Other buttons stand alone.
func (r *renderer) groupFor(kind slackrender.ActionKind) string {
	if kind != slackrender.ActionConfirm && kind != slackrender.ActionCancel {
		return ""
	}
	if r.group == "" {
		r.group = newToken()
	}
	return r.group
}
