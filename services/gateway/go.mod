module github.com/communityinbox/gateway

go 1.26.0

require github.com/communityinbox/shared v0.0.0

require (
	github.com/gorilla/websocket v1.5.3 // indirect
	golang.org/x/time v0.16.0 // indirect
)

replace github.com/communityinbox/shared => ../../shared
