//go:build !linux

// Package parentdeath is a no-op off Linux (no PR_SET_PDEATHSIG); tests stop their processes themselves.
package parentdeath
