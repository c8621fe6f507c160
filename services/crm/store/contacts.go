package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/communityinbox/crm/contact"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/mongox"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Contacts implements contact.Storer.
type Contacts struct {
	contacts, keys, convs, audit, seen, attrs, codes *mongo.Collection
}

// NewContacts returns the contact store on db.
func NewContacts(db *mongo.Database) *Contacts {
	return &Contacts{contacts: db.Collection(colContacts), keys: db.Collection(colKeys), convs: db.Collection(colConvs),
		audit: db.Collection(colAudit), seen: db.Collection(colSeen), attrs: db.Collection(colAttrs), codes: db.Collection(colCodes)}
}

type attrsDoc struct {
	BirthYear  *int     `bson:"birth_year,omitempty"`
	Country    string   `bson:"country"`
	City       string   `bson:"city"`
	IncomeBand string   `bson:"income_band"`
	JobTitle   string   `bson:"job_title"`
	Industry   string   `bson:"industry"`
	Interests  []string `bson:"interests"`
}

type influenceDoc struct {
	Comments int64 `bson:"comments"`
	Mentions int64 `bson:"mentions"`
	Shares   int64 `bson:"shares"`
	Score    int64 `bson:"score"`
}

type contactDoc struct {
	ID           string         `bson:"_id"`
	WS           string         `bson:"ws"`
	Name         string         `bson:"name"`
	Names        []string       `bson:"names"`
	Emails       []string       `bson:"emails"`
	Phones       []string       `bson:"phones"`
	Handles      []string       `bson:"handles"`
	Platforms    []string       `bson:"platforms"`
	ChannelIDs   []string       `bson:"channel_ids"`
	Labels       []string       `bson:"labels"`
	Attrs        attrsDoc       `bson:"attrs"`
	Custom       map[string]any `bson:"custom"`
	ReferralCode string         `bson:"referral_code,omitempty"`
	Influence    influenceDoc   `bson:"influence"`
	LastActivity time.Time      `bson:"last_activity"`
	CreatedAt    time.Time      `bson:"created_at"`
	UpdatedAt    time.Time      `bson:"updated_at"`
	Ver          int64          `bson:"ver"`
	Alias        string         `bson:"alias"`
	Canonical    string         `bson:"canonical"`
	Eff          *linkDoc       `bson:"eff,omitempty"`
	Val          valDoc         `bson:"val"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func toContactDoc(ws, id string, c contact.Contact) contactDoc {
	var names []string
	if c.Name != "" {
		names = []string{c.Name}
	}
	return contactDoc{ID: id, WS: ws, Name: c.Name, Names: nonNil(names), Emails: nonNil(c.Emails), Phones: nonNil(c.Phones),
		Handles: nonNil(c.Handles), Platforms: nonNil(c.Platforms), ChannelIDs: nonNil(c.ChannelIDs), Labels: nonNil(c.Labels),
		Attrs: attrsDoc{Interests: []string{}}, Custom: map[string]any{}, LastActivity: c.LastActivity, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		Canonical: id, Val: valDoc{Tier: "new", Sum: []int64{}, Count: []int{}, Buyers: []int{}}}
}

func toContact(d contactDoc) contact.Contact {
	c := contact.Contact{ID: d.ID, WorkspaceID: d.WS, Name: d.Name, Emails: d.Emails, Phones: d.Phones, Handles: d.Handles,
		Platforms: d.Platforms, ChannelIDs: d.ChannelIDs, Labels: d.Labels, Custom: d.Custom, ReferralCode: d.ReferralCode,
		Attributes: contact.Attributes{BirthYear: d.Attrs.BirthYear, Country: d.Attrs.Country, City: d.Attrs.City, IncomeBand: d.Attrs.IncomeBand,
			JobTitle: d.Attrs.JobTitle, Industry: d.Attrs.Industry, Interests: d.Attrs.Interests},
		Influence:    contact.Influence{Comments: d.Influence.Comments, Mentions: d.Influence.Mentions, Shares: d.Influence.Shares, Score: d.Influence.Score},
		LastActivity: d.LastActivity.UTC(), CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), Version: d.Ver,
		Alias: d.Alias, Canonical: d.Canonical,
		Value: contact.Value{Direct: d.Val.Direct, Referral: d.Val.Referral, Total: d.Val.Total, Orders: d.Val.Orders,
			ReferralByLevel: d.Val.Sum, ReferredCount: d.Val.Count, ReferredBuyers: d.Val.Buyers, Tier: d.Val.Tier}}
	if c.Canonical == "" {
		c.Canonical = c.ID
	}
	if c.Value.Tier == "" {
		c.Value.Tier = "new"
	}
	if d.Eff != nil {
		c.ReferredVia = d.Eff.Parent
	}
	return c
}

type keyDoc struct {
	ID        string    `bson:"_id"`
	WS        string    `bson:"ws"`
	Kind      string    `bson:"kind"`
	Value     string    `bson:"value"`
	Contact   string    `bson:"contact"`
	Platform  string    `bson:"platform,omitempty"`
	UserID    string    `bson:"user_id,omitempty"`
	Handle    string    `bson:"handle,omitempty"`
	Name      string    `bson:"name,omitempty"`
	ChannelID string    `bson:"channel_id,omitempty"`
	FirstSeen time.Time `bson:"first_seen"`
	LastSeen  time.Time `bson:"last_seen"`
}

func keyID(ws string, k contact.Key) string { return wsKey(ws, k.Kind, k.Value) }

// KeyOwners implements contact.Storer.
func (s *Contacts) KeyOwners(ctx context.Context, ws string, keys []contact.Key) (map[contact.Key]string, error) {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = keyID(ws, k)
	}
	docs, err := findEach(ctx, ids, func(ctx context.Context, match any) ([]keyDoc, error) {
		cur, err := s.keys.Find(ctx, bson.M{"_id": match, "ws": ws})
		if err != nil {
			return nil, mongox.Translate(err, "key owners", "contact")
		}
		var docs []keyDoc
		return docs, mongox.Translate(cur.All(ctx, &docs), "key owners", "contact")
	})
	if err != nil {
		return nil, err
	}
	out := map[contact.Key]string{}
	for _, d := range docs {
		out[contact.Key{Kind: d.Kind, Value: d.Value}] = d.Contact
	}
	return out, nil
}

// ClaimKey implements contact.Storer.
func (s *Contacts) ClaimKey(ctx context.Context, ws string, k contact.Key, id string, ident *contact.Identity) (bool, error) {
	now := time.Now().UTC()
	d := keyDoc{ID: keyID(ws, k), WS: ws, Kind: k.Kind, Value: k.Value, Contact: id, FirstSeen: now, LastSeen: now}
	if ident != nil {
		d.Platform, d.UserID, d.Handle, d.Name, d.ChannelID = ident.Platform, ident.UserID, ident.Handle, ident.Name, ident.ChannelID
	}
	_, err := s.keys.InsertOne(ctx, d)
	if mongox.IsDuplicate(err) {
		return false, nil
	}
	return err == nil, mongox.Translate(err, "claim key", "contact key")
}

// TouchIdentity implements contact.Storer.
func (s *Contacts) TouchIdentity(ctx context.Context, ws string, id contact.Identity) error {
	set := bson.M{"last_seen": id.LastSeen}
	if id.Handle != "" {
		set["handle"] = id.Handle
	}
	if id.Name != "" {
		set["name"] = id.Name
	}
	if id.ChannelID != "" {
		set["channel_id"] = id.ChannelID
	}
	_, err := s.keys.UpdateOne(ctx, bson.M{"_id": keyID(ws, id.Key()), "ws": ws}, bson.M{"$set": set})
	return mongox.Translate(err, "touch identity", "identity")
}

// Ensure implements contact.Storer.
func (s *Contacts) Ensure(ctx context.Context, ws, id string, c contact.Contact) error {
	doc, err := bson.Marshal(toContactDoc(ws, id, c))
	if err != nil {
		return err
	}
	var m bson.M
	if err := bson.Unmarshal(doc, &m); err != nil {
		return err
	}
	delete(m, "_id")
	delete(m, "ws")
	_, err = s.contacts.UpdateOne(ctx, bson.M{"_id": id, "ws": ws}, bson.M{"$setOnInsert": m}, options.UpdateOne().SetUpsert(true))
	if mongox.IsDuplicate(err) {
		return nil // two upserts raced and the other one inserted it: it exists
	}
	return mongox.Translate(err, "ensure contact", "contact")
}

// AddSearch implements contact.Storer. The update only matches when the
// contact lacks one of the values or still has no name, so a repeat buyer
// or sender (the common case) costs one matching-nothing command instead of
// two writes.
func (s *Contacts) AddSearch(ctx context.Context, ws, id string, c contact.Contact) error {
	add := bson.M{}
	var missing bson.A
	each := func(field string, vals []string) {
		if len(vals) == 0 {
			return
		}
		add[field] = bson.M{"$each": vals}
		for _, v := range vals {
			missing = append(missing, bson.M{field: bson.M{"$ne": v}})
		}
	}
	if c.Name != "" {
		each("names", []string{c.Name})
		missing = append(missing, bson.M{"name": ""})
	}
	each("emails", c.Emails)
	each("phones", c.Phones)
	each("handles", c.Handles)
	each("platforms", c.Platforms)
	each("channel_ids", c.ChannelIDs)
	if len(add) == 0 {
		return nil
	}
	var before struct {
		Name string `bson:"name"`
	}
	err := s.contacts.FindOneAndUpdate(ctx, bson.M{"_id": id, "ws": ws, "$or": missing}, bson.M{"$addToSet": add},
		options.FindOneAndUpdate().SetReturnDocument(options.Before)).Decode(&before) // FerretDB refuses a projection here
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil // nothing new (or no such contact, as before: a no-op)
	}
	if err != nil {
		return mongox.Translate(err, "add search", "contact")
	}
	if c.Name == "" || before.Name != "" {
		return nil
	}
	// A contact created without a name takes the first one it is given.
	_, err = s.contacts.UpdateOne(ctx, bson.M{"_id": id, "ws": ws, "name": ""}, bson.M{"$set": bson.M{"name": c.Name}})
	return mongox.Translate(err, "add search", "contact")
}

// RefreshSearch implements contact.Storer.
func (s *Contacts) RefreshSearch(ctx context.Context, ws, canonical string) error {
	members, err := s.findContacts(ctx, bson.M{"ws": ws, "canonical": canonical}, nil)
	if err != nil {
		return err
	}
	ids := make([]string, len(members))
	names := []string{}
	for i, m := range members {
		ids[i] = m.ID
		if m.Name != "" && !slices.Contains(names, m.Name) {
			names = append(names, m.Name)
		}
	}
	cur, err := s.keys.Find(ctx, bson.M{"ws": ws, "contact": oneOf(ids)})
	if err != nil {
		return mongox.Translate(err, "refresh search", "contact")
	}
	var keys []keyDoc
	if err := cur.All(ctx, &keys); err != nil {
		return mongox.Translate(err, "refresh search", "contact")
	}
	emails, phones, handles, platforms, channels := []string{}, []string{}, []string{}, []string{}, []string{}
	add := func(dst *[]string, v string) {
		if v != "" && !slices.Contains(*dst, v) {
			*dst = append(*dst, v)
		}
	}
	for _, k := range keys {
		switch k.Kind {
		case contact.KindEmail:
			add(&emails, k.Value)
		case contact.KindPhone:
			add(&phones, k.Value)
		case contact.KindIdentity:
			add(&handles, k.Handle)
			add(&platforms, k.Platform)
			add(&channels, k.ChannelID)
		}
	}
	_, err = s.contacts.UpdateOne(ctx, bson.M{"_id": canonical, "ws": ws}, bson.M{"$set": bson.M{
		"names": names, "emails": emails, "phones": phones, "handles": handles, "platforms": platforms, "channel_ids": channels}})
	return mongox.Translate(err, "refresh search", "contact")
}

func (s *Contacts) findContacts(ctx context.Context, filter bson.M, opts *options.FindOptionsBuilder) ([]contact.Contact, error) {
	cur, err := s.contacts.Find(ctx, filter, opts)
	if err != nil {
		return nil, mongox.Translate(err, "find contacts", "contact")
	}
	var docs []contactDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Translate(err, "find contacts", "contact")
	}
	out := make([]contact.Contact, len(docs))
	for i, d := range docs {
		out[i] = toContact(d)
	}
	return out, nil
}

// Get implements contact.Storer.
func (s *Contacts) Get(ctx context.Context, ws, id string) (contact.Contact, error) {
	var d contactDoc
	if err := s.contacts.FindOne(ctx, bson.M{"_id": id, "ws": ws}).Decode(&d); err != nil {
		return contact.Contact{}, mongox.Translate(err, "get contact", "contact")
	}
	return toContact(d), nil
}

// GetMany implements contact.Storer.
func (s *Contacts) GetMany(ctx context.Context, ws string, ids []string) ([]contact.Contact, error) {
	return findEach(ctx, ids, func(ctx context.Context, match any) ([]contact.Contact, error) {
		return s.findContacts(ctx, bson.M{"ws": ws, "_id": match}, nil)
	})
}

// Members implements contact.Storer.
func (s *Contacts) Members(ctx context.Context, ws, canonical string) ([]string, error) {
	cur, err := s.contacts.Find(ctx, bson.M{"ws": ws, "canonical": canonical}, options.Find().SetProjection(bson.M{"_id": 1}))
	if err != nil {
		return nil, mongox.Translate(err, "members", "contact")
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Translate(err, "members", "contact")
	}
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.ID
	}
	slices.Sort(out)
	return out, nil
}

// MembersOf implements contact.Storer.
func (s *Contacts) MembersOf(ctx context.Context, ws string, canonicals []string) (map[string]string, error) {
	cur, err := s.contacts.Find(ctx, bson.M{"ws": ws, "canonical": oneOf(canonicals)}, options.Find().SetProjection(bson.M{"_id": 1, "canonical": 1}))
	if err != nil {
		return nil, mongox.Translate(err, "members of", "contact")
	}
	var docs []struct {
		ID        string `bson:"_id"`
		Canonical string `bson:"canonical"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Translate(err, "members of", "contact")
	}
	out := make(map[string]string, len(docs))
	for _, d := range docs {
		out[d.ID] = d.Canonical
	}
	return out, nil
}

// Identities implements contact.Storer.
func (s *Contacts) Identities(ctx context.Context, ws string, contacts []string) ([]contact.Identity, error) {
	cur, err := s.keys.Find(ctx, bson.M{"ws": ws, "contact": oneOf(contacts), "kind": contact.KindIdentity},
		options.Find().SetSort(bson.D{{Key: "first_seen", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, mongox.Translate(err, "identities", "identity")
	}
	var docs []keyDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Translate(err, "identities", "identity")
	}
	out := make([]contact.Identity, len(docs))
	for i, d := range docs {
		out[i] = contact.Identity{Platform: d.Platform, UserID: d.UserID, Handle: d.Handle, Name: d.Name, ChannelID: d.ChannelID,
			ContactID: d.Contact, FirstSeen: d.FirstSeen.UTC(), LastSeen: d.LastSeen.UTC()}
	}
	return out, nil
}

// Keys implements contact.Storer.
func (s *Contacts) Keys(ctx context.Context, ws string, contacts []string) ([]contact.Key, error) {
	cur, err := s.keys.Find(ctx, bson.M{"ws": ws, "contact": oneOf(contacts)}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, mongox.Translate(err, "keys", "contact key")
	}
	var docs []keyDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Translate(err, "keys", "contact key")
	}
	out := make([]contact.Key, len(docs))
	for i, d := range docs {
		out[i] = contact.Key{Kind: d.Kind, Value: d.Value}
	}
	return out, nil
}

// Update implements contact.Storer; a non-zero version must match.
func (s *Contacts) Update(ctx context.Context, ws, id string, version int64, p contact.Patch) (contact.Contact, error) {
	set := bson.M{"updated_at": p.At}
	if p.Name != nil {
		set["name"] = *p.Name
	}
	if p.Labels != nil {
		set["labels"] = nonNil(*p.Labels)
	}
	if a := p.Attributes; a != nil {
		set["attrs"] = attrsDoc{BirthYear: a.BirthYear, Country: a.Country, City: a.City, IncomeBand: a.IncomeBand,
			JobTitle: a.JobTitle, Industry: a.Industry, Interests: nonNil(a.Interests)}
	}
	for k, v := range p.SetCustom {
		set["custom."+k] = v
	}
	upd := bson.M{"$set": set, "$inc": bson.M{"ver": int64(1)}}
	if len(p.DelCustom) > 0 {
		unset := bson.M{}
		for _, k := range p.DelCustom {
			unset["custom."+k] = ""
		}
		upd["$unset"] = unset
	}
	filter := bson.M{"_id": id, "ws": ws}
	if version > 0 {
		filter["ver"] = version
	}
	var d contactDoc
	err := s.contacts.FindOneAndUpdate(ctx, filter, upd, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) && version > 0 {
		if _, gerr := s.Get(ctx, ws, id); gerr == nil {
			return contact.Contact{}, apperr.Conflict("contact was changed by someone else (version %d is stale); reload and retry", version)
		}
	}
	if err != nil {
		return contact.Contact{}, mongox.Translate(err, "update contact", "contact")
	}
	return toContact(d), nil
}

var sortPaths = map[string]string{"total": "val.total", "direct": "val.direct", "referral": "val.referral",
	"influence": "influence.score", "created_at": "created_at", "last_activity": "last_activity", "name": "name"}

func filterDoc(ws string, f contact.Filter, custom map[string]any, now time.Time) bson.M {
	m := bson.M{"ws": ws, "alias": ""}
	var and []bson.M
	if f.Query != "" {
		rx := bson.Regex{Pattern: regexp.QuoteMeta(strings.TrimSpace(f.Query)), Options: "i"}
		and = append(and, bson.M{"$or": bson.A{bson.M{"names": rx}, bson.M{"emails": rx}, bson.M{"handles": rx}, bson.M{"phones": rx}}})
	}
	eq := func(path, v string) {
		if v != "" {
			m[path] = v
		}
	}
	eq("platforms", f.Platform)
	eq("channel_ids", f.Channel)
	eq("labels", f.Label)
	eq("val.tier", f.Tier)
	eq("attrs.country", f.Country)
	eq("attrs.income_band", f.IncomeBand)
	eq("attrs.interests", f.Interest)
	ci := func(path, v string) {
		if v != "" {
			m[path] = bson.Regex{Pattern: "^" + regexp.QuoteMeta(v) + "$", Options: "i"}
		}
	}
	ci("attrs.city", f.City)
	ci("attrs.industry", f.Industry)
	ci("attrs.job_title", f.JobTitle)
	year := now.Year()
	if f.AgeMin != nil || f.AgeMax != nil {
		r := bson.M{}
		if f.AgeMin != nil {
			r["$lte"] = year - *f.AgeMin
		}
		if f.AgeMax != nil {
			r["$gte"] = year - *f.AgeMax
		}
		m["attrs.birth_year"] = r
	}
	rng := func(path string, lo, hi *int64) {
		if lo == nil && hi == nil {
			return
		}
		r := bson.M{}
		if lo != nil {
			r["$gte"] = *lo
		}
		if hi != nil {
			r["$lte"] = *hi
		}
		m[path] = r
	}
	rng("val.total", f.TotalMin, f.TotalMax)
	rng("val.direct", f.DirectMin, f.DirectMax)
	rng("val.referral", f.ReferralMin, f.ReferralMax)
	rng("influence.score", f.InfluenceMin, nil)
	for k, v := range custom {
		m["custom."+k] = v
	}
	if len(and) > 0 {
		m["$and"] = and
	}
	return m
}

type cursor struct {
	Int  *int64  `json:"i,omitempty"`
	Time *int64  `json:"t,omitempty"`
	Str  *string `json:"s,omitempty"`
	ID   string  `json:"id"`
}

func sortValue(c contact.Contact, field string) any {
	switch field {
	case "total":
		return c.Value.Total
	case "direct":
		return c.Value.Direct
	case "referral":
		return c.Value.Referral
	case "influence":
		return c.Influence.Score
	case "created_at":
		return c.CreatedAt
	case "last_activity":
		return c.LastActivity
	}
	return c.Name
}

func encodeCursor(v any, id string) string {
	c := cursor{ID: id}
	switch x := v.(type) {
	case int64:
		c.Int = &x
	case time.Time:
		ms := x.UnixMilli()
		c.Time = &ms
	case string:
		c.Str = &x
	}
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (any, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c cursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID == "" {
		return nil, "", apperr.Invalid("malformed cursor")
	}
	switch {
	case c.Int != nil:
		return *c.Int, c.ID, nil
	case c.Time != nil:
		return time.UnixMilli(*c.Time).UTC(), c.ID, nil
	case c.Str != nil:
		return *c.Str, c.ID, nil
	}
	return nil, "", apperr.Invalid("malformed cursor")
}

// List implements contact.Storer with keyset pagination on (sort field, _id).
func (s *Contacts) List(ctx context.Context, ws string, f contact.Filter, custom map[string]any, so contact.Sort, p contact.Page, now time.Time) ([]contact.Contact, string, error) {
	m := filterDoc(ws, f, custom, now)
	path := sortPaths[so.Field]
	dir := 1
	cmp := "$gt"
	if so.Desc {
		dir, cmp = -1, "$lt"
	}
	if p.Cursor != "" {
		v, id, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		after := bson.M{"$or": bson.A{bson.M{path: bson.M{cmp: v}}, bson.M{path: v, "_id": bson.M{"$gt": id}}}}
		and, _ := m["$and"].([]bson.M)
		m["$and"] = append(and, after)
	}
	opts := options.Find().SetSort(bson.D{{Key: path, Value: dir}, {Key: "_id", Value: 1}}).SetLimit(int64(p.Limit + 1))
	out, err := s.findContacts(ctx, m, opts)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > p.Limit {
		out = out[:p.Limit]
		last := out[len(out)-1]
		next = encodeCursor(sortValue(last, so.Field), last.ID)
	}
	return out, next, nil
}

// Count implements contact.Storer.
func (s *Contacts) Count(ctx context.Context, ws string, f contact.Filter, custom map[string]any, now time.Time) (int64, error) {
	n, err := s.contacts.CountDocuments(ctx, filterDoc(ws, f, custom, now))
	return n, mongox.Translate(err, "count contacts", "contact")
}

// Each implements contact.Storer, streaming with a cursor in _id order.
func (s *Contacts) Each(ctx context.Context, ws string, f contact.Filter, custom map[string]any, now time.Time, fn func(contact.Contact) error) error {
	cur, err := s.contacts.Find(ctx, filterDoc(ws, f, custom, now), options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetBatchSize(500))
	if err != nil {
		return mongox.Translate(err, "stream contacts", "contact")
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d contactDoc
		if err := cur.Decode(&d); err != nil {
			return err
		}
		if err := fn(toContact(d)); err != nil {
			return err
		}
	}
	return mongox.Translate(cur.Err(), "stream contacts", "contact")
}

// Referred implements contact.Storer.
func (s *Contacts) Referred(ctx context.Context, ws string, parents []string, limit int) ([]contact.Contact, error) {
	return s.findContacts(ctx, bson.M{"ws": ws, "alias": "", "eff.parent": oneOf(parents)},
		options.Find().SetSort(bson.D{{Key: "val.total", Value: -1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

// TopReferrers implements contact.Storer.
func (s *Contacts) TopReferrers(ctx context.Context, ws string, limit int) ([]contact.Contact, error) {
	cs, err := s.findContacts(ctx, bson.M{"ws": ws, "alias": "", "val.referral": bson.M{"$gt": 0}},
		options.Find().SetSort(bson.D{{Key: "val.referral", Value: -1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	return cs, err
}

// SetReferralCode implements contact.Storer: the code document (ws|code) makes
// codes unique; the contact keeps the first code set on it.
func (s *Contacts) SetReferralCode(ctx context.Context, ws, id, code string) (string, error) {
	_, err := s.codes.InsertOne(ctx, bson.M{"_id": wsKey(ws, code), "ws": ws, "contact": id})
	if err != nil {
		return "", mongox.Translate(err, "referral code", "referral code")
	}
	res, err := s.contacts.UpdateOne(ctx, bson.M{"_id": id, "ws": ws, "referral_code": bson.M{"$exists": false}},
		bson.M{"$set": bson.M{"referral_code": code}})
	if err != nil {
		return "", mongox.Translate(err, "referral code", "contact")
	}
	if res.MatchedCount == 1 {
		return code, nil
	}
	// Another request gave the contact a code first: keep that one.
	_, _ = s.codes.DeleteOne(ctx, bson.M{"_id": wsKey(ws, code), "ws": ws})
	c, err := s.Get(ctx, ws, id)
	if err != nil {
		return "", err
	}
	return c.ReferralCode, nil
}

// CodeOwner implements contact.Storer.
func (s *Contacts) CodeOwner(ctx context.Context, ws, code string) (string, error) {
	var d struct {
		Contact string `bson:"contact"`
	}
	if err := s.codes.FindOne(ctx, bson.M{"_id": wsKey(ws, code), "ws": ws}).Decode(&d); err != nil {
		return "", mongox.Translate(err, "code owner", "referral code")
	}
	return d.Contact, nil
}

type auditDoc struct {
	ID       string    `bson:"_id"`
	WS       string    `bson:"ws"`
	Action   string    `bson:"action"`
	From     string    `bson:"from"`
	Into     string    `bson:"into"`
	Actor    string    `bson:"actor"`
	Reason   string    `bson:"reason,omitempty"`
	At       time.Time `bson:"at"`
	Contacts []string  `bson:"contacts"`
}

// InsertAudit implements contact.Storer.
func (s *Contacts) InsertAudit(ctx context.Context, ws string, a contact.Audit) error {
	_, err := s.audit.InsertOne(ctx, auditDoc{ID: a.ID, WS: ws, Action: a.Action, From: a.From, Into: a.Into, Actor: a.Actor,
		Reason: a.Reason, At: a.At, Contacts: []string{a.From, a.Into}})
	return mongox.Translate(err, "insert audit", "audit")
}

// Audit implements contact.Storer.
func (s *Contacts) Audit(ctx context.Context, ws string, ids []string) ([]contact.Audit, error) {
	cur, err := s.audit.Find(ctx, bson.M{"ws": ws, "contacts": oneOf(ids)},
		options.Find().SetSort(bson.D{{Key: "at", Value: -1}, {Key: "_id", Value: 1}}).SetLimit(200))
	if err != nil {
		return nil, mongox.Translate(err, "audit", "audit")
	}
	var docs []auditDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Translate(err, "audit", "audit")
	}
	out := make([]contact.Audit, len(docs))
	for i, d := range docs {
		out[i] = contact.Audit{ID: d.ID, Action: d.Action, From: d.From, Into: d.Into, Actor: d.Actor, Reason: d.Reason, At: d.At.UTC()}
	}
	return out, nil
}

type attrDefDoc struct {
	ID      string   `bson:"_id"`
	WS      string   `bson:"ws"`
	Name    string   `bson:"name"`
	Type    string   `bson:"type"`
	Label   string   `bson:"label,omitempty"`
	Options []string `bson:"options,omitempty"`
}

// AttrDefs implements contact.Storer.
func (s *Contacts) AttrDefs(ctx context.Context, ws string) ([]contact.AttrDef, error) {
	cur, err := s.attrs.Find(ctx, bson.M{"ws": ws}, options.Find().SetSort(bson.D{{Key: "name", Value: 1}}))
	if err != nil {
		return nil, mongox.Translate(err, "attribute defs", "attribute")
	}
	var docs []attrDefDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Translate(err, "attribute defs", "attribute")
	}
	out := make([]contact.AttrDef, len(docs))
	for i, d := range docs {
		out[i] = contact.AttrDef{Name: d.Name, Type: d.Type, Label: d.Label, Options: d.Options}
	}
	return out, nil
}

// PutAttrDef implements contact.Storer.
func (s *Contacts) PutAttrDef(ctx context.Context, ws string, d contact.AttrDef) error {
	_, err := s.attrs.ReplaceOne(ctx, bson.M{"_id": wsKey(ws, d.Name), "ws": ws},
		attrDefDoc{ID: wsKey(ws, d.Name), WS: ws, Name: d.Name, Type: d.Type, Label: d.Label, Options: d.Options}, options.Replace().SetUpsert(true))
	return mongox.Translate(err, "put attribute", "attribute")
}

// DeleteAttrDef implements contact.Storer.
func (s *Contacts) DeleteAttrDef(ctx context.Context, ws, name string) error {
	res, err := s.attrs.DeleteOne(ctx, bson.M{"_id": wsKey(ws, name), "ws": ws})
	if err != nil {
		return mongox.Translate(err, "delete attribute", "attribute")
	}
	if res.DeletedCount == 0 {
		return apperr.NotFound("attribute")
	}
	return nil
}

// SeenMessage implements contact.Storer.
func (s *Contacts) SeenMessage(ctx context.Context, ws, messageID string) (bool, error) {
	_, err := s.seen.InsertOne(ctx, bson.M{"_id": wsKey(ws, messageID), "ws": ws, "at": time.Now().UTC()})
	if mongox.IsDuplicate(err) {
		return false, nil
	}
	return err == nil, mongox.Translate(err, "seen message", "message")
}

// AddInfluence implements contact.Storer.
func (s *Contacts) AddInfluence(ctx context.Context, ws, id string, comments, mentions, shares int64) error {
	_, err := s.contacts.UpdateOne(ctx, bson.M{"_id": id, "ws": ws}, bson.M{"$inc": bson.M{
		"influence.comments": comments, "influence.mentions": mentions, "influence.shares": shares,
		"influence.score": contact.ScoreOf(comments, mentions, shares)}})
	return mongox.Translate(err, "add influence", "contact")
}

type convDoc struct {
	ID             string    `bson:"_id"`
	WS             string    `bson:"ws"`
	Contact        string    `bson:"contact"`
	ConversationID string    `bson:"conversation_id"`
	Platform       string    `bson:"platform"`
	ChannelID      string    `bson:"channel_id"`
	Kind           string    `bson:"kind"`
	Messages       int64     `bson:"messages"`
	FirstSeen      time.Time `bson:"first_seen"`
	LastActivity   time.Time `bson:"last_activity"`
}

// Activity implements contact.Storer.
func (s *Contacts) Activity(ctx context.Context, ws, owner, canonical string, c contact.Conversation, newMessage bool) error {
	set := bson.M{"last_activity": c.LastActivity}
	if c.Platform != "" {
		set["platform"] = c.Platform
	}
	if c.ChannelID != "" {
		set["channel_id"] = c.ChannelID
	}
	if c.Kind != "" {
		set["kind"] = c.Kind
	}
	var n int64
	if newMessage {
		n = 1
	}
	_, err := s.convs.UpdateOne(ctx, bson.M{"_id": wsKey(ws, owner, c.ConversationID), "ws": ws},
		bson.M{"$set": set, "$inc": bson.M{"messages": n},
			"$setOnInsert": bson.M{"contact": owner, "conversation_id": c.ConversationID, "first_seen": c.LastActivity}},
		options.UpdateOne().SetUpsert(true))
	if err != nil {
		return mongox.Translate(err, "activity", "conversation")
	}
	upd := bson.M{"$set": bson.M{"last_activity": c.LastActivity}}
	add := bson.M{}
	if c.Platform != "" {
		add["platforms"] = c.Platform
	}
	if c.ChannelID != "" {
		add["channel_ids"] = c.ChannelID
	}
	if len(add) > 0 {
		upd["$addToSet"] = add
	}
	_, err = s.contacts.UpdateOne(ctx, bson.M{"_id": canonical, "ws": ws}, upd)
	return mongox.Translate(err, "activity", "contact")
}

// Conversations implements contact.Storer.
func (s *Contacts) Conversations(ctx context.Context, ws string, contacts []string, limit int) ([]contact.Conversation, error) {
	cur, err := s.convs.Find(ctx, bson.M{"ws": ws, "contact": oneOf(contacts)},
		options.Find().SetSort(bson.D{{Key: "last_activity", Value: -1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, mongox.Translate(err, "conversations", "conversation")
	}
	var docs []convDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Translate(err, "conversations", "conversation")
	}
	out := make([]contact.Conversation, len(docs))
	for i, d := range docs {
		out[i] = contact.Conversation{ConversationID: d.ConversationID, ContactID: d.Contact, Platform: d.Platform, ChannelID: d.ChannelID,
			Kind: d.Kind, Messages: d.Messages, FirstSeen: d.FirstSeen.UTC(), LastActivity: d.LastActivity.UTC()}
	}
	return out, nil
}
