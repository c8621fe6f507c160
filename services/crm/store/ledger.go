package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/communityinbox/crm/ledger"
	"github.com/communityinbox/crm/value"
	"github.com/communityinbox/shared/apperr"
	"github.com/communityinbox/shared/mongox"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Ledger implements ledger.Storer.
type Ledger struct {
	contacts, orders, refunds *mongo.Collection
}

// NewLedger returns the ledger store on db.
func NewLedger(db *mongo.Database) *Ledger {
	return &Ledger{contacts: db.Collection(colContacts), orders: db.Collection(colOrders), refunds: db.Collection(colRefunds)}
}

type linkDoc struct {
	Child  string    `bson:"child"`
	Parent string    `bson:"parent"`
	At     time.Time `bson:"at"`
}

// valDoc is the ledger-owned value subdocument of a contact.
type valDoc struct {
	Ver       int64   `bson:"ver"`
	OwnDirect int64   `bson:"own_direct"`
	OwnOrders int     `bson:"own_orders"`
	Direct    int64   `bson:"direct"`
	Orders    int     `bson:"orders"`
	Sum       []int64 `bson:"sum"`
	Count     []int   `bson:"count"`
	Buyers    []int   `bson:"buyers"`
	Referral  int64   `bson:"referral"`
	Total     int64   `bson:"total"`
	Tier      string  `bson:"tier"`
}

type nodeDoc struct {
	ID        string   `bson:"_id"`
	Alias     string   `bson:"alias"`
	Canonical string   `bson:"canonical"`
	Link      *linkDoc `bson:"link"`
	Eff       *linkDoc `bson:"eff"`
	Val       valDoc   `bson:"val"`
}

var nodeProjection = bson.M{"_id": 1, "alias": 1, "canonical": 1, "link": 1, "eff": 1, "val": 1}

func toLink(d *linkDoc) *value.Link {
	if d == nil {
		return nil
	}
	return &value.Link{Child: d.Child, Parent: d.Parent, At: d.At.UTC()}
}

func fromLink(l *value.Link) *linkDoc {
	if l == nil {
		return nil
	}
	return &linkDoc{Child: l.Child, Parent: l.Parent, At: l.At}
}

func toNode(d nodeDoc) ledger.Node {
	return ledger.Node{ID: d.ID, Version: d.Val.Ver, OwnDirect: d.Val.OwnDirect, OwnOrders: d.Val.OwnOrders,
		Link: toLink(d.Link), Alias: d.Alias, Canonical: d.Canonical,
		Direct: d.Val.Direct, Orders: d.Val.Orders, Sum: d.Val.Sum, Count: d.Val.Count, Buyers: d.Val.Buyers,
		Eff: toLink(d.Eff), Referral: d.Val.Referral, Total: d.Val.Total, Tier: d.Val.Tier}
}

func (s *Ledger) findNodes(ctx context.Context, filter bson.M) ([]ledger.Node, error) {
	cur, err := s.contacts.Find(ctx, filter, options.Find().SetProjection(nodeProjection))
	if err != nil {
		return nil, mongox.Translate(err, "find nodes", "contact")
	}
	var docs []nodeDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Translate(err, "find nodes", "contact")
	}
	out := make([]ledger.Node, len(docs))
	for i, d := range docs {
		out[i] = toNode(d)
	}
	return out, nil
}

// Nodes implements ledger.Storer.
func (s *Ledger) Nodes(ctx context.Context, ws string, ids []string) ([]ledger.Node, error) {
	return findEach(ctx, ids, func(ctx context.Context, match any) ([]ledger.Node, error) {
		return s.findNodes(ctx, bson.M{"ws": ws, "_id": match})
	})
}

// Members implements ledger.Storer.
func (s *Ledger) Members(ctx context.Context, ws, id string) ([]ledger.Node, error) {
	return s.findNodes(ctx, bson.M{"ws": ws, "canonical": id})
}

// AliasesOf implements ledger.Storer.
func (s *Ledger) AliasesOf(ctx context.Context, ws string, ids []string) ([]ledger.Node, error) {
	return s.findNodes(ctx, bson.M{"ws": ws, "alias": oneOf(ids)})
}

// LinkedTo implements ledger.Storer.
func (s *Ledger) LinkedTo(ctx context.Context, ws string, parents []string) ([]ledger.Node, error) {
	return s.findNodes(ctx, bson.M{"ws": ws, "link.parent": oneOf(parents)})
}

// SaveNodes implements ledger.Storer: counters move by $inc, the rest by $set,
// and each write is conditional on the version the operation read.
func (s *Ledger) SaveNodes(ctx context.Context, ws string, changes []ledger.NodeChange) error {
	models := make([]mongo.WriteModel, 0, len(changes))
	for _, c := range changes {
		inc := bson.M{"val.ver": int64(1)}
		set := bson.M{}
		o, n := c.Old, c.New
		incIf := func(path string, d int64) {
			if d != 0 {
				inc[path] = d
			}
		}
		incIf("val.own_direct", n.OwnDirect-o.OwnDirect)
		incIf("val.own_orders", int64(n.OwnOrders-o.OwnOrders))
		incIf("val.direct", n.Direct-o.Direct)
		incIf("val.orders", int64(n.Orders-o.Orders))
		arrays(inc, set, "val.sum", o.Sum, n.Sum)
		arrays(inc, set, "val.count", o.Count, n.Count)
		arrays(inc, set, "val.buyers", o.Buyers, n.Buyers)
		set["val.referral"], set["val.total"], set["val.tier"] = n.Referral, n.Total, n.Tier
		set["link"], set["eff"] = fromLink(n.Link), fromLink(n.Eff)
		set["alias"], set["canonical"] = n.Alias, n.Canonical
		models = append(models, mongo.NewUpdateOneModel().
			SetFilter(bson.M{"_id": n.ID, "ws": ws, "val.ver": o.Version}).
			SetUpdate(bson.M{"$inc": inc, "$set": set}))
	}
	// A few updates (an order: the buyer and its ancestors) go as concurrent
	// commands: FerretDB executes the statements of one bulk write one after
	// another, and a contact update is its slowest step. More go in batches.
	batch := bulkBatch
	if len(models) <= fewValues {
		batch = 1
	}
	var parts [][]mongo.WriteModel
	for start := 0; start < len(models); start += batch {
		parts = append(parts, models[start:min(start+batch, len(models))])
	}
	matched := make([]int64, len(parts))
	errs := make([]error, len(parts))
	write := func(i int) {
		res, err := s.contacts.BulkWrite(ctx, parts[i], options.BulkWrite().SetOrdered(false))
		if err != nil {
			errs[i] = mongox.Translate(err, "save nodes", "contact")
			return
		}
		matched[i] = res.MatchedCount
	}
	if batch == 1 {
		var wg sync.WaitGroup
		for i := range parts {
			wg.Add(1)
			go func() { defer wg.Done(); write(i) }()
		}
		wg.Wait()
	} else {
		for i := range parts {
			if write(i); errs[i] != nil {
				break
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var total int64
	for _, m := range matched {
		total += m
	}
	if int(total) != len(models) {
		return apperr.Wrap(fmt.Errorf("save nodes: %d of %d matched", total, len(models)), apperr.CodeConflict, "contact changed concurrently, retry")
	}
	return nil
}

// bulkBatch bounds one bulkWrite: FerretDB (SQLite backend) stalls on an
// update batch of about 100 statements, while 50 go through in tens of ms.
const bulkBatch = 50

// arrays adds per-element $inc for same-length arrays, or a $set of the whole
// array when its length changes (a new contact, or a new depth).
func arrays[T int | int64](inc, set bson.M, path string, old, cur []T) {
	if len(old) != len(cur) {
		set[path] = cur
		return
	}
	for i := range cur {
		if d := int64(cur[i] - old[i]); d != 0 {
			inc[path+"."+strconv.Itoa(i)] = d
		}
	}
}

// ReplaceNodes implements ledger.Storer.
func (s *Ledger) ReplaceNodes(ctx context.Context, ws string, nodes []ledger.Node) error {
	for start := 0; start < len(nodes); start += bulkBatch {
		end := min(start+bulkBatch, len(nodes))
		models := make([]mongo.WriteModel, 0, end-start)
		for _, n := range nodes[start:end] {
			set := bson.M{
				"val.own_direct": n.OwnDirect, "val.own_orders": n.OwnOrders, "val.direct": n.Direct, "val.orders": n.Orders,
				"val.sum": n.Sum, "val.count": n.Count, "val.buyers": n.Buyers,
				"val.referral": n.Referral, "val.total": n.Total, "val.tier": n.Tier,
				"link": fromLink(n.Link), "eff": fromLink(n.Eff), "alias": n.Alias, "canonical": n.Canonical,
			}
			// By _id alone: the nodes come from this workspace's own scan, and
			// FerretDB only uses the primary key when _id is the whole filter.
			models = append(models, mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": n.ID}).
				SetUpdate(bson.M{"$set": set, "$inc": bson.M{"val.ver": int64(1)}}))
		}
		if _, err := s.contacts.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
			return mongox.Translate(err, "replace nodes", "contact")
		}
	}
	return nil
}

type orderDoc struct {
	Key          string    `bson:"_id"`
	WS           string    `bson:"ws"`
	Source       string    `bson:"source"`
	ExternalID   string    `bson:"external_id"`
	Contact      string    `bson:"contact"`
	Currency     string    `bson:"currency"`
	Total        int64     `bson:"total"`
	BaseCurrency string    `bson:"base_currency"`
	Base         int64     `bson:"base"`
	Rate         string    `bson:"rate"`
	Refunded     int64     `bson:"refunded"`
	BaseRefunded int64     `bson:"base_refunded"`
	CreatedAt    time.Time `bson:"created_at"`
	BookedAt     time.Time `bson:"booked_at"`
	ReferralCode string    `bson:"referral_code,omitempty"`
	Email        string    `bson:"email,omitempty"`
	Phone        string    `bson:"phone,omitempty"`
	Name         string    `bson:"name,omitempty"`
}

func toOrderDoc(o ledger.Order) orderDoc {
	return orderDoc{Key: o.Key, WS: o.WorkspaceID, Source: o.Source, ExternalID: o.ExternalID, Contact: o.ContactID,
		Currency: o.Currency, Total: o.TotalMinor, BaseCurrency: o.BaseCurrency, Base: o.BaseMinor, Rate: o.Rate,
		Refunded: o.RefundedMinor, BaseRefunded: o.BaseRefundedMinor, CreatedAt: o.CreatedAt, BookedAt: o.BookedAt,
		ReferralCode: o.ReferralCode, Email: o.Email, Phone: o.Phone, Name: o.Name}
}

func toOrder(d orderDoc) ledger.Order {
	return ledger.Order{Key: d.Key, WorkspaceID: d.WS, Source: d.Source, ExternalID: d.ExternalID, ContactID: d.Contact,
		Currency: d.Currency, TotalMinor: d.Total, BaseCurrency: d.BaseCurrency, BaseMinor: d.Base, Rate: d.Rate,
		RefundedMinor: d.Refunded, BaseRefundedMinor: d.BaseRefunded, CreatedAt: d.CreatedAt.UTC(), BookedAt: d.BookedAt.UTC(),
		ReferralCode: d.ReferralCode, Email: d.Email, Phone: d.Phone, Name: d.Name}
}

// InsertOrder implements ledger.Storer.
func (s *Ledger) InsertOrder(ctx context.Context, o ledger.Order) (ledger.Order, bool, error) {
	_, err := s.orders.InsertOne(ctx, toOrderDoc(o))
	if mongox.IsDuplicate(err) {
		stored, err := s.Order(ctx, o.WorkspaceID, o.Key)
		return stored, true, err
	}
	if err != nil {
		return ledger.Order{}, false, mongox.Translate(err, "insert order", "order")
	}
	return o, false, nil
}

// Order implements ledger.Storer.
func (s *Ledger) Order(ctx context.Context, ws, key string) (ledger.Order, error) {
	var d orderDoc
	if err := s.orders.FindOne(ctx, bson.M{"_id": key, "ws": ws}).Decode(&d); err != nil {
		return ledger.Order{}, mongox.Translate(err, "get order", "order")
	}
	return toOrder(d), nil
}

// AddRefunded implements ledger.Storer with one conditional findOneAndUpdate:
// a concurrent refund of the same order makes it fail instead of overdrawing.
func (s *Ledger) AddRefunded(ctx context.Context, ws, key string, before, amount, base int64) error {
	err := s.orders.FindOneAndUpdate(ctx, bson.M{"_id": key, "ws": ws, "refunded": before, "total": bson.M{"$gte": before + amount}},
		bson.M{"$inc": bson.M{"refunded": amount, "base_refunded": base}}).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return apperr.Conflict("order was refunded concurrently, retry")
	}
	return mongox.Translate(err, "add refunded", "order")
}

type refundDoc struct {
	Key      string    `bson:"_id"`
	WS       string    `bson:"ws"`
	Order    string    `bson:"order"`
	RefundID string    `bson:"refund_id"`
	Contact  string    `bson:"contact"`
	Currency string    `bson:"currency"`
	Amount   int64     `bson:"amount"`
	Base     int64     `bson:"base"`
	State    string    `bson:"state"`
	At       time.Time `bson:"at"`
}

func toRefund(d refundDoc) ledger.Refund {
	return ledger.Refund{Key: d.Key, WorkspaceID: d.WS, OrderKey: d.Order, RefundID: d.RefundID, ContactID: d.Contact,
		Currency: d.Currency, AmountMinor: d.Amount, BaseMinor: d.Base, State: d.State, At: d.At.UTC()}
}

// Refund implements ledger.Storer.
func (s *Ledger) Refund(ctx context.Context, ws, key string) (ledger.Refund, error) {
	var d refundDoc
	if err := s.refunds.FindOne(ctx, bson.M{"_id": key, "ws": ws}).Decode(&d); err != nil {
		return ledger.Refund{}, mongox.Translate(err, "get refund", "refund")
	}
	return toRefund(d), nil
}

// InsertRefund implements ledger.Storer.
func (s *Ledger) InsertRefund(ctx context.Context, r ledger.Refund) (ledger.Refund, bool, error) {
	_, err := s.refunds.InsertOne(ctx, refundDoc{Key: r.Key, WS: r.WorkspaceID, Order: r.OrderKey, RefundID: r.RefundID,
		Contact: r.ContactID, Currency: r.Currency, Amount: r.AmountMinor, Base: r.BaseMinor, State: r.State, At: r.At})
	if mongox.IsDuplicate(err) {
		stored, err := s.Refund(ctx, r.WorkspaceID, r.Key)
		return stored, true, err
	}
	if err != nil {
		return ledger.Refund{}, false, mongox.Translate(err, "insert refund", "refund")
	}
	return r, false, nil
}

// PendingRefunds implements ledger.Storer.
func (s *Ledger) PendingRefunds(ctx context.Context, ws, orderKey string) ([]ledger.Refund, error) {
	return s.findRefunds(ctx, bson.M{"ws": ws, "order": orderKey, "state": ledger.RefundPending})
}

// Refunds returns the applied refunds of the given orders.
func (s *Ledger) Refunds(ctx context.Context, ws string, orderKeys []string) ([]ledger.Refund, error) {
	return s.findRefunds(ctx, bson.M{"ws": ws, "order": oneOf(orderKeys), "state": ledger.RefundApplied})
}

func (s *Ledger) findRefunds(ctx context.Context, filter bson.M) ([]ledger.Refund, error) {
	cur, err := s.refunds.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, mongox.Translate(err, "find refunds", "refund")
	}
	var docs []refundDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Translate(err, "find refunds", "refund")
	}
	out := make([]ledger.Refund, len(docs))
	for i, d := range docs {
		out[i] = toRefund(d)
	}
	return out, nil
}

// ApplyPendingRefund implements ledger.Storer.
func (s *Ledger) ApplyPendingRefund(ctx context.Context, r ledger.Refund) error {
	_, err := s.refunds.UpdateOne(ctx, bson.M{"_id": r.Key, "ws": r.WorkspaceID, "state": ledger.RefundPending},
		bson.M{"$set": bson.M{"state": ledger.RefundApplied, "contact": r.ContactID, "base": r.BaseMinor, "currency": r.Currency}})
	return mongox.Translate(err, "apply refund", "refund")
}

// OrdersOf returns the orders booked on any of contacts, newest first.
func (s *Ledger) OrdersOf(ctx context.Context, ws string, contacts []string, limit int) ([]ledger.Order, error) {
	opts := options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: 1}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	cur, err := s.orders.Find(ctx, bson.M{"ws": ws, "contact": oneOf(contacts)}, opts)
	if err != nil {
		return nil, mongox.Translate(err, "orders of", "order")
	}
	var docs []orderDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, mongox.Translate(err, "orders of", "order")
	}
	out := make([]ledger.Order, len(docs))
	for i, d := range docs {
		out[i] = toOrder(d)
	}
	return out, nil
}

// RefundsOf returns the applied refunds booked on any of contacts.
func (s *Ledger) RefundsOf(ctx context.Context, ws string, contacts []string) ([]ledger.Refund, error) {
	return s.findRefunds(ctx, bson.M{"ws": ws, "contact": oneOf(contacts), "state": ledger.RefundApplied})
}

// HasOrders reports whether ws has any order.
func (s *Ledger) HasOrders(ctx context.Context, ws string) (bool, error) {
	n, err := s.orders.CountDocuments(ctx, bson.M{"ws": ws}, options.Count().SetLimit(1))
	return n > 0, mongox.Translate(err, "count orders", "order")
}

// Ledger implements ledger.Storer: it streams the orders, the applied
// refunds and the contacts of ws concurrently, each with a projection and
// large cursor batches, reading fields straight from the raw BSON instead of
// decoding into structs by reflection. On FerretDB the server's per-field
// document conversion dominates, so the three scans overlap on the cores.
func (s *Ledger) Ledger(ctx context.Context, ws string) (value.Ledger, []ledger.Node, error) {
	var (
		led            value.Ledger
		nodes          []ledger.Node
		wg             sync.WaitGroup
		errs           [3]error
		orders, refund []value.Entry
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	run := func(i int, fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = fn(); errs[i] != nil {
				cancel()
			}
		}()
	}
	run(0, func() (err error) {
		orders, err = scanEntries(ctx, s.orders, bson.M{"ws": ws}, true)
		return err
	})
	run(1, func() (err error) {
		refund, err = scanEntries(ctx, s.refunds, bson.M{"ws": ws, "state": ledger.RefundApplied}, false)
		return err
	})
	run(2, func() (err error) {
		nodes, err = scanNodes(ctx, s.contacts, ws)
		return err
	})
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return led, nil, err
	}
	led.Orders, led.Refunds = orders, refund
	for i := range nodes {
		n := &nodes[i]
		if n.Link != nil {
			led.Links = append(led.Links, *n.Link)
		}
		if n.Alias != "" {
			led.Aliases = append(led.Aliases, value.Alias{From: n.ID, Into: n.Alias})
		}
	}
	return led, nodes, nil
}

// scanBatch is the cursor batch of full scans: a few MB per reply.
const scanBatch = 10_000

var (
	orderEntryProjection  = bson.M{"_id": 1, "contact": 1, "base": 1, "booked_at": 1}
	refundEntryProjection = bson.M{"_id": 1, "contact": 1, "base": 1}
)

// scanEntries reads the ledger entries of one collection; orders carry
// their booking time.
func scanEntries(ctx context.Context, col *mongo.Collection, filter bson.M, orders bool) ([]value.Entry, error) {
	proj := refundEntryProjection
	if orders {
		proj = orderEntryProjection
	}
	cur, err := col.Find(ctx, filter, options.Find().SetProjection(proj).SetBatchSize(scanBatch))
	if err != nil {
		return nil, mongox.Translate(err, "scan ledger", "ledger")
	}
	defer cur.Close(ctx)
	var out []value.Entry
	for cur.Next(ctx) {
		e, err := rawEntry(cur.Current)
		if err != nil {
			return nil, fmt.Errorf("scan ledger: %w", err)
		}
		out = append(out, e)
	}
	return out, mongox.Translate(cur.Err(), "scan ledger", "ledger")
}

// rawEntry reads one order or refund entry from its projected document.
func rawEntry(doc bson.Raw) (value.Entry, error) {
	var e value.Entry
	elems, err := doc.Elements()
	if err != nil {
		return e, err
	}
	for _, el := range elems {
		v := el.Value()
		switch el.Key() {
		case "_id":
			e.ID, err = rawString(v, "_id")
		case "contact":
			e.Contact, err = rawString(v, "contact")
		case "base":
			e.Amount, err = rawInt(v, "base")
		case "booked_at":
			e.At, err = rawTime(v, "booked_at")
		}
		if err != nil {
			return e, err
		}
	}
	return e, nil
}

// scanNodes reads every contact of ws as a ledger node.
func scanNodes(ctx context.Context, col *mongo.Collection, ws string) ([]ledger.Node, error) {
	cur, err := col.Find(ctx, bson.M{"ws": ws}, options.Find().SetProjection(nodeProjection).SetBatchSize(scanBatch))
	if err != nil {
		return nil, mongox.Translate(err, "scan contacts", "contact")
	}
	defer cur.Close(ctx)
	var nodes []ledger.Node
	for cur.Next(ctx) {
		n, err := rawNode(cur.Current)
		if err != nil {
			return nil, fmt.Errorf("scan contacts: %w", err)
		}
		nodes = append(nodes, n)
	}
	return nodes, mongox.Translate(cur.Err(), "scan contacts", "contact")
}

// rawNode reads a contact's ledger fields (nodeProjection) into a node, as
// toNode does from a decoded nodeDoc.
func rawNode(doc bson.Raw) (ledger.Node, error) {
	var n ledger.Node
	elems, err := doc.Elements()
	if err != nil {
		return n, err
	}
	for _, el := range elems {
		v := el.Value()
		switch el.Key() {
		case "_id":
			n.ID, err = rawString(v, "_id")
		case "alias":
			n.Alias, err = rawString(v, "alias")
		case "canonical":
			n.Canonical, err = rawString(v, "canonical")
		case "link":
			n.Link, err = rawLink(v)
		case "eff":
			n.Eff, err = rawLink(v)
		case "val":
			err = rawVal(v, &n)
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func rawVal(v bson.RawValue, n *ledger.Node) error {
	doc, ok := v.DocumentOK()
	if !ok {
		return fmt.Errorf("val is %s, not a document", v.Type)
	}
	elems, err := doc.Elements()
	if err != nil {
		return err
	}
	var i int64
	for _, el := range elems {
		v := el.Value()
		switch k := el.Key(); k {
		case "ver":
			n.Version, err = rawInt(v, k)
		case "own_direct":
			n.OwnDirect, err = rawInt(v, k)
		case "own_orders":
			i, err = rawInt(v, k)
			n.OwnOrders = int(i)
		case "direct":
			n.Direct, err = rawInt(v, k)
		case "orders":
			i, err = rawInt(v, k)
			n.Orders = int(i)
		case "referral":
			n.Referral, err = rawInt(v, k)
		case "total":
			n.Total, err = rawInt(v, k)
		case "tier":
			n.Tier, err = rawString(v, k)
		case "sum":
			n.Sum, err = rawInts[int64](v, k)
		case "count":
			n.Count, err = rawInts[int](v, k)
		case "buyers":
			n.Buyers, err = rawInts[int](v, k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func rawLink(v bson.RawValue) (*value.Link, error) {
	if v.Type == bson.TypeNull {
		return nil, nil
	}
	doc, ok := v.DocumentOK()
	if !ok {
		return nil, fmt.Errorf("link is %s, not a document", v.Type)
	}
	elems, err := doc.Elements()
	if err != nil {
		return nil, err
	}
	var l value.Link
	for _, el := range elems {
		v := el.Value()
		switch k := el.Key(); k {
		case "child":
			l.Child, err = rawString(v, k)
		case "parent":
			l.Parent, err = rawString(v, k)
		case "at":
			l.At, err = rawTime(v, k)
		}
		if err != nil {
			return nil, err
		}
	}
	return &l, nil
}

func rawString(v bson.RawValue, key string) (string, error) {
	if s, ok := v.StringValueOK(); ok {
		return s, nil
	}
	return "", fmt.Errorf("%s is %s, not a string", key, v.Type)
}

func rawInt(v bson.RawValue, key string) (int64, error) {
	// Integers, and doubles holding an integer, as the struct decoder accepts.
	if i, ok := v.AsInt64OK(); ok {
		return i, nil
	}
	return 0, fmt.Errorf("%s is %s, not an integer", key, v.Type)
}

func rawTime(v bson.RawValue, key string) (time.Time, error) {
	if ms, ok := v.DateTimeOK(); ok {
		return time.UnixMilli(ms).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%s is %s, not a date", key, v.Type)
}

func rawInts[T int | int64](v bson.RawValue, key string) ([]T, error) {
	if v.Type == bson.TypeNull {
		return nil, nil
	}
	arr, ok := v.ArrayOK()
	if !ok {
		return nil, fmt.Errorf("%s is %s, not an array", key, v.Type)
	}
	vals, err := arr.Values()
	if err != nil {
		return nil, err
	}
	out := make([]T, len(vals))
	for i, e := range vals {
		x, err := rawInt(e, key)
		if err != nil {
			return nil, err
		}
		out[i] = T(x)
	}
	return out, nil
}
