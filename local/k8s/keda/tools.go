//go:build tools

// Package tools pins the KEDA commands local/cluster.sh builds: the operator and the metrics API server (adapter).
package tools

import (
	_ "github.com/kedacore/keda/v2/cmd/adapter"
	_ "github.com/kedacore/keda/v2/cmd/operator"
)
