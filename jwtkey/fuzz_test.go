package jwtkey_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/sdkauth/revocation/jwtkey"
)

// referenceClaims reads iss and jti with encoding/json's token decoder:
// slow, but plainly right (and what JWT libraries hand the server, invalid
// UTF-8 turned into U+FFFD). FuzzKey holds Key's scanner to it.
func referenceClaims(payload []byte) (iss, jti string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", "", false
	}
	var seenIss, seenJti bool
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", "", false
		}
		name, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return "", "", false
		}
		var dst *string
		switch name {
		case "iss":
			if seenIss {
				return "", "", false
			}
			seenIss, dst = true, &iss
		case "jti":
			if seenJti {
				return "", "", false
			}
			seenJti, dst = true, &jti
		}
		if dst != nil && (raw[0] != '"' || json.Unmarshal(raw, dst) != nil) {
			return "", "", false
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return "", "", false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "", "", false
	}
	return iss, jti, jti != ""
}

func FuzzKey(f *testing.F) {
	for _, p := range []string{
		`{"iss":"i","jti":"j"}`,
		`{"iss":"i","jti":"j","nested":{"jti":"x","a":[1,"]}",{"b":"\""}]},"n":-1.5e3,"t":true,"z":null}`,
		`{"\u0069ss":"i\n","j\u0074i":"\u006a\ud83d\ude00"}`,
		`{"jti":"j","jti":"k"}`,
		`{"jti":5}`,
		` { "jti" : "j" } `,
		`{"jti":"j"} x`,
		`[]`,
		`{"a":"\\","jti":"\\\""}`,
		"{\"jti\":\"\xff\"}",
	} {
		f.Add([]byte(p))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		iss, jti, ok := referenceClaims(payload)
		token := "e30." + b64.EncodeToString(payload) + ".c2ln"
		if len(token) > 4096 {
			return
		}
		key, got := jwtkey.Key(token)
		if got != ok {
			t.Fatalf("Key ok = %v, reference %v, payload %q", got, ok, payload)
		}
		if ok && key != jwtkey.For(iss, jti) {
			t.Fatalf("Key = %q, reference %q, payload %q", key, jwtkey.For(iss, jti), payload)
		}
	})
}
