package statuslist

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// Key is the key the Issuer signs its Status List Tokens with.
type Key struct {
	// Signer signs. Its public key decides the algorithm: an ECDSA key
	// on P-256 signs ES256, on P-384 ES384, an Ed25519 key EdDSA. It may
	// be an *ecdsa.PrivateKey, an ed25519.PrivateKey, or a key held
	// elsewhere (a KMS, an HSM) behind crypto.Signer.
	Signer crypto.Signer
	// ID is the kid of the tokens' header: the key's kid in the JWKS the
	// relying parties verify with. Required.
	ID string
}

// jwsSigner signs compact JWS with one key and a header fixed for it.
type jwsSigner struct {
	key    crypto.Signer
	alg    string
	hash   crypto.Hash // 0 for EdDSA, which signs the message itself
	size   int         // bytes of r and of s in an ECDSA signature; 0 for EdDSA
	header string      // base64url of the header JSON
}

// newJWSSigner returns the signer of k, with the header {alg, kid, typ}.
func newJWSSigner(k Key) (*jwsSigner, error) {
	if k.Signer == nil {
		return nil, errors.New("nil signer (Key.Signer)")
	}
	if k.ID == "" {
		return nil, errors.New("empty key ID (Key.ID)")
	}
	s := &jwsSigner{key: k.Signer}
	switch pub := k.Signer.Public().(type) {
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			s.alg, s.hash, s.size = "ES256", crypto.SHA256, 32
		case elliptic.P384():
			s.alg, s.hash, s.size = "ES384", crypto.SHA384, 48
		default:
			return nil, fmt.Errorf("ECDSA curve %s is neither P-256 nor P-384", pub.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		s.alg = "EdDSA"
	default:
		return nil, fmt.Errorf("key of type %T is neither ECDSA nor Ed25519", pub)
	}
	h, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{s.alg, k.ID, "statuslist+jwt"})
	if err != nil {
		return nil, err
	}
	s.header = base64.RawURLEncoding.EncodeToString(h)
	return s, nil
}

// sign returns the compact JWS of payload.
func (s *jwsSigner) sign(payload []byte) ([]byte, error) {
	enc := base64.RawURLEncoding
	n := len(s.header) + 1 + enc.EncodedLen(len(payload))
	out := make([]byte, 0, n+1+enc.EncodedLen(2*max(s.size, 32)))
	out = append(out, s.header...)
	out = append(out, '.')
	out = enc.AppendEncode(out, payload)
	sig, err := s.signature(out)
	if err != nil {
		return nil, err
	}
	out = append(out, '.')
	return enc.AppendEncode(out, sig), nil
}

// signature signs the JWS signing input in its algorithm's form: r || s,
// each of the curve's size, for ECDSA (whose crypto.Signer returns ASN.1
// DER), the signature itself for EdDSA.
func (s *jwsSigner) signature(input []byte) ([]byte, error) {
	if s.hash == 0 {
		return s.key.Sign(rand.Reader, input, crypto.Hash(0))
	}
	h := s.hash.New()
	h.Write(input)
	der, err := s.key.Sign(rand.Reader, h.Sum(nil), s.hash)
	if err != nil {
		return nil, err
	}
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &rs)
	switch {
	case err != nil:
		return nil, fmt.Errorf("ECDSA signature is not ASN.1: %w", err)
	case len(rest) > 0 || rs.R == nil || rs.S == nil || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 ||
		rs.R.BitLen() > 8*s.size || rs.S.BitLen() > 8*s.size:
		return nil, errors.New("ECDSA signature is malformed")
	}
	sig := make([]byte, 2*s.size)
	rs.R.FillBytes(sig[:s.size])
	rs.S.FillBytes(sig[s.size:])
	return sig, nil
}
