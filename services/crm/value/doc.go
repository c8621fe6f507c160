// Package value computes a CRM contact's direct value, referral value and
// referral counts over the referral forest, both incrementally (Engine) and
// as a full array-based recompute (Recompute, Forest.Compute).
//
// The definitions are in README.md next to this file. In short: a contact's
// direct value is the sum of its orders minus its refunds in the workspace
// base currency (integer minor units); its referral value is
// Σ_{d=1..D} w_d × (Σ direct of the contacts it referred at depth d), with
// weights in basis points and a single half-away-from-zero rounding; its total
// is direct + referral. Merged contacts are aliases of the contact they were
// merged into, so an unmerge restores the original contact from the ledger.
package value
