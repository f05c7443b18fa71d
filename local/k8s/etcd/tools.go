//go:build tools

// Package tools pins the etcd server that local/cluster.sh builds (go build go.etcd.io/etcd/server/v3).
package tools

import _ "go.etcd.io/etcd/server/v3"
