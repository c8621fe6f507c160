// Package scaleout checks that the services scale out: two gateway and two
// inbox instances over one Redis and one database behave as one system, so a
// webhook ingested through one instance reaches agents connected to another.
package scaleout
