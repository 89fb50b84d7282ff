module github.com/sdkauth/revocation

go 1.25.0
