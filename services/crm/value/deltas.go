package value

// Delta is one increment of one ancestor's per-level counters. A store that
// keeps referral_by_level, referred_count and referred_buyers per contact
// applies it as an $inc on element Level-1 of each array.
type Delta struct {
	Contact string
	// Level is the depth, 1..D, of the changed descendants below Contact.
	Level  int
	Sum    int64
	Count  int
	Buyers int
}

// Ancestors returns up to depth referrers of id, nearest first: the parent,
// the grandparent, and so on. parentOf reports a contact's referrer. The walk
// stops early at a root, and also if parentOf ever leads back to a contact
// already seen, so corrupt data cannot make it loop.
func Ancestors(parentOf func(id string) (string, bool), id string, depth int) []string {
	var out []string
	cur := id
	for len(out) < depth {
		p, ok := parentOf(cur)
		if !ok || p == id {
			break
		}
		for _, seen := range out {
			if seen == p {
				return out
			}
		}
		out = append(out, p)
		cur = p
	}
	return out
}

// EntryDeltas returns the increments caused by a change of amount in the
// direct value of a contact whose ancestors (from Ancestors) are given:
// ancestor k gains amount at level k. firstOrder says the change is the
// contact's first order, which makes it a buyer at that level too.
func EntryDeltas(ancestors []string, amount int64, firstOrder bool) []Delta {
	if amount == 0 && !firstOrder {
		return nil
	}
	buyers := 0
	if firstOrder {
		buyers = 1
	}
	out := make([]Delta, 0, len(ancestors))
	for k, a := range ancestors {
		out = append(out, Delta{Contact: a, Level: k + 1, Sum: amount, Buyers: buyers})
	}
	return out
}

// MoveDeltas returns the increments caused by attaching (sign +1) or
// detaching (sign -1) the subtree rooted at a contact with value sub below
// the given ancestors: ancestor k gains the contact itself at level k and the
// contact's level j at level k+j, as far as depth D = len(sub.ReferralByLevel)
// reaches. Only sub's direct value, order count and per-level fields are read.
func MoveDeltas(ancestors []string, sub Value, sign int) []Delta {
	if sign != 1 && sign != -1 {
		panic("value: MoveDeltas sign must be +1 or -1")
	}
	depth := len(sub.ReferralByLevel)
	s := int64(sign)
	self := 0
	if sub.Orders > 0 {
		self = sign
	}
	var out []Delta
	for k, a := range ancestors {
		level := k + 1
		if level > depth {
			break
		}
		out = append(out, Delta{Contact: a, Level: level, Sum: s * sub.Direct, Count: sign, Buyers: self})
		for j := 1; level+j <= depth; j++ {
			d := Delta{
				Contact: a,
				Level:   level + j,
				Sum:     s * sub.ReferralByLevel[j-1],
				Count:   sign * sub.ReferredCount[j-1],
				Buyers:  sign * sub.ReferredBuyers[j-1],
			}
			if d.Sum != 0 || d.Count != 0 || d.Buyers != 0 {
				out = append(out, d)
			}
		}
	}
	return out
}
