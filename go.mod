module github.com/registrarhq/registrar

go 1.26.8

require (
	golang.org/x/text v0.43.0
	golang.org/x/time v0.16.0
)
