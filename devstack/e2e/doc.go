// Package e2e holds the browser tests of the console: the whole stack runs in
// the test process (FerretDB from mongotest, the in-memory bus, a fake Graph
// API standing in for Facebook) and Chromium, driven over the DevTools
// protocol, uses it the way agents and managers do. Screenshots of the main
// screens go to screenshots/ at the repository root.
package e2e
