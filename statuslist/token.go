package statuslist

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// tokenClaims is the claims set of a Status List Token (the draft's
// section 5.1), in the order encoding/json writes it.
type tokenClaims struct {
	Exp        int64          `json:"exp"`
	Iat        int64          `json:"iat"`
	StatusList statusListJSON `json:"status_list"`
	Sub        string         `json:"sub"`
	TTL        int64          `json:"ttl"`
}

// statusListJSON is the status_list claim: a Status List in JSON (the
// draft's section 4.2).
type statusListJSON struct {
	Bits int    `json:"bits"`
	Lst  string `json:"lst"`
}

// token returns the Status List Token of list id: the one signed last if
// the list has not changed since and it is younger than the ttl, or a new
// one. A list without revocations is served all 0, whatever its number.
func (is *Issuer) token(id uint64) (*signed, error) {
	now := is.o.now()
	is.mu.RLock()
	l := is.lists[id]
	is.mu.RUnlock()
	if l == nil {
		// The same claims for the whole ttl window, so that its ETag
		// holds for as long.
		return is.sign(id, is.zero, now.Truncate(is.o.ttl), 0)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if t := l.tok; t != nil && t.version == l.version && now.Sub(t.iat) < is.o.ttl && !now.Before(t.iat) {
		return t, nil
	}
	t, err := is.sign(id, base64.RawURLEncoding.EncodeToString(l.compressed()), now, l.version)
	if err != nil {
		return nil, err
	}
	l.tok = t
	return t, nil
}

// sign signs the Status List Token of list id holding lst, issued at iat.
func (is *Issuer) sign(id uint64, lst string, iat time.Time, version uint64) (*signed, error) {
	iat = iat.Truncate(time.Second)
	payload, err := json.Marshal(tokenClaims{
		Exp:        iat.Add(is.o.lifetime).Unix(),
		Iat:        iat.Unix(),
		StatusList: statusListJSON{Bits: 1, Lst: lst},
		Sub:        is.URI(id),
		TTL:        int64(is.o.ttl / time.Second),
	})
	if err != nil {
		return nil, fmt.Errorf("statuslist: encoding the token: %w", err)
	}
	jws, err := is.signer.sign(payload)
	if err != nil {
		return nil, fmt.Errorf("statuslist: signing the token: %w", err)
	}
	sum := sha256.Sum256(payload)
	return &signed{
		jws:     jws,
		etag:    `W/"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`,
		iat:     iat,
		version: version,
	}, nil
}
