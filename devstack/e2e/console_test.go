package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// usd renders minor units the way Intl.NumberFormat("en-US", USD) does.
func usd(minor int64) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	whole := strconv.FormatInt(minor/100, 10)
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return fmt.Sprintf("%s$%s.%02d", sign, b.String(), minor%100)
}

func TestUSDHelper(t *testing.T) {
	for minor, want := range map[int64]string{0: "$0.00", 5: "$0.05", 123456: "$1,234.56", 100000000: "$1,000,000.00", -250: "-$2.50"} {
		if got := usd(minor); got != want {
			t.Errorf("usd(%d) = %q, want %q", minor, got, want)
		}
	}
}

func num(v any) int64 {
	switch x := v.(type) {
	case float64:
		return int64(x)
	case json.Number:
		n, _ := x.Int64()
		return n
	}
	return -1
}

// TestConsoleInbox is the agents' acceptance test: an agent sees a Messenger
// message arrive live, answers it and the answer reaches Facebook; a second
// agent sees the first one typing. Screenshots of the inbox and of a
// conversation (wide and narrow) are written along the way.
func TestConsoleInbox(t *testing.T) {
	e := startStack(t)
	admin := e.login(adminEmail, adminPassword)
	if st, body := e.raw("GET", "/api/v1/conversations", admin, nil, nil); st != 200 {
		t.Fatalf("the inbox service has no conversation API (GET /api/v1/conversations answers %d: %s): the console's inbox cannot work", st, body)
	}
	b := newBrowser(t)
	agentOne := e.user(admin, "ann@example.com", "Ann Agent", "agent", "ann-password-1")
	benID := e.user(admin, "ben@example.com", "Ben Agent", "agent", "ben-password-1")
	e.must(201, "POST", "/api/v1/labels", admin, map[string]string{"name": "shipping"})
	canned := e.must(201, "POST", "/api/v1/canned-responses", admin, map[string]string{"shortcut": "ship", "title": "Shipping times", "text": "Orders ship within 2 business days."})

	ch := connectFacebook(t, e, admin)

	// Ann's inbox is open before the customer writes.
	ann := b.tab("ann", e.url, 1280, 800)
	ann.login("ann@example.com", "ann-password-1")
	ann.open("/inbox?assignee=all&status=all")
	poll[bool](ann, "the conversation list", `document.querySelector('.conv-list') !== null && document.querySelector('.conv-list').getAttribute('aria-busy') === null`)
	poll[bool](ann, "the live connection", `document.querySelector('.conn').dataset.state === 'live'`)
	eval[bool](ann, `window.__sameDocument = true`)

	text := fmt.Sprintf("Hi! Where is my order #%d?", time.Now().Unix()%100000)
	psid := "7012345678901234"
	postMessenger(t, e, ch, psid, text)

	// The conversation appears without a reload.
	convID := poll[string](ann, "the new conversation in the list", `(() => { const li = document.querySelector('.conv[data-conversation-id]'); return li ? li.dataset.conversationId : ''; })()`)
	if !eval[bool](ann, `window.__sameDocument === true`) {
		t.Fatal("the page reloaded to show the new conversation")
	}
	// Another customer writes: a second conversation on top; then the first
	// customer writes again and theirs moves back up. The count follows.
	order := `[...document.querySelectorAll('.conv[data-conversation-id]')].map(li => li.dataset.conversationId).join(',')`
	postMessenger(t, e, ch, "7098765432109876", "Do you ship to Canada?")
	second := poll[string](ann, "the second conversation on top", `(() => { const ids = `+order+`.split(','); return ids.length === 2 && ids[1] === '`+convID+`' ? ids[0] : ''; })()`)
	postMessenger(t, e, ch, psid, "Hello? Anyone there?")
	poll[bool](ann, "the first conversation back on top", order+` === '`+convID+","+second+`'`)
	// Each row previews its newest message and counts the unread ones, live.
	poll[bool](ann, "the newest message previewed", `(() => { const p = document.querySelector('.conv[data-conversation-id="`+convID+`"] .conv-preview'); return p !== null && p.textContent === 'Hello? Anyone there?'; })()`)
	poll[bool](ann, "two unread messages", `(() => { const b = document.querySelector('.conv[data-conversation-id="`+convID+`"] .badge.unread'); return b !== null && b.textContent === '2 unread'; })()`)
	if got := eval[string](ann, `document.querySelector('.list-summary').textContent`); got != "2 conversations" {
		t.Errorf("list summary %q", got)
	}
	apiConv := e.must(200, "GET", "/api/v1/conversations/"+convID, admin, nil)
	if apiConv["id"] != convID {
		t.Fatalf("list shows %s, API answers %v", convID, apiConv["id"])
	}
	ann.screenshot("inbox")

	// Ann opens it and sees the message.
	ann.do(chromedp.Click(chromedp.CSS(`.conv[data-conversation-id="` + convID + `"] a`)))
	poll[bool](ann, "the customer's message in the thread", fmt.Sprintf(`[...document.querySelectorAll('.msg[data-direction="in"] .msg-text')].some(p => p.textContent === %q)`, text))
	if loc := eval[string](ann, `location.pathname`); loc != "/inbox/"+convID {
		t.Errorf("URL after opening: %s", loc)
	}
	// Opening it read it for the team.
	for deadline := time.Now().Add(waitFor); ; {
		if e.must(200, "GET", "/api/v1/conversations/"+convID, admin, nil)["unread_count"] == float64(0) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the conversation is still unread after Ann opened it")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Ben looks at the same conversation.
	ben := b.tab("ben", e.url, 1280, 800)
	ben.login("ben@example.com", "ben-password-1")
	ben.open("/inbox/" + convID)
	poll[bool](ben, "the thread", fmt.Sprintf(`[...document.querySelectorAll('.msg-text')].some(p => p.textContent === %q)`, text))
	poll[bool](ann, "Ben viewing", `(document.querySelector('.presence')||{dataset:{}}).dataset.viewers === 'Ben Agent'`)

	// Ann types: Ben sees it.
	reply := "Hi Dana, it left our warehouse this morning."
	ann.do(chromedp.Click(chromedp.CSS(".composer textarea")), chromedp.SendKeys(chromedp.CSS(".composer textarea"), reply[:10]))
	poll[bool](ben, "Ann typing", `(document.querySelector('.presence')||{dataset:{}}).dataset.typing === 'Ann Agent'`)
	if got := eval[string](ben, `document.querySelector('.presence').textContent`); !strings.Contains(got, "Ann Agent is typing") {
		t.Errorf("Ben's presence line: %q", got)
	}
	ann.screenshot("conversation")

	// Ann sends; Facebook gets it; both see it sent.
	ann.do(chromedp.SendKeys(chromedp.CSS(".composer textarea"), reply[10:]), chromedp.Click(chromedp.CSS(".composer button[type=submit]")))
	call := e.graph.waitCall(t, "the reply", func(c graphCall) bool {
		msg, _ := c.Body["message"].(map[string]any)
		return c.Method == "POST" && strings.HasSuffix(c.Path, "/messages") && msg != nil && msg["text"] == reply
	})
	if rcpt, _ := call.Body["recipient"].(map[string]any); rcpt["id"] != psid {
		t.Errorf("reply went to %v, want %s", call.Body["recipient"], psid)
	}
	if call.Auth != "Bearer "+ch.accessToken && !strings.Contains(call.Path, "access_token") {
		t.Errorf("reply not authorised with the page token: %q", call.Auth)
	}
	poll[bool](ann, "the reply marked sent", fmt.Sprintf(`[...document.querySelectorAll('.msg[data-direction="out"]')].some(m => m.querySelector('.msg-text').textContent === %q && ['sent','delivered','read'].includes(m.dataset.delivery))`, reply))
	poll[bool](ben, "the reply, live", fmt.Sprintf(`[...document.querySelectorAll('.msg[data-direction="out"] .msg-text')].some(p => p.textContent === %q)`, reply))
	poll[bool](ben, "Ann no longer typing", `(document.querySelector('.presence')||{dataset:{}}).dataset.typing === ''`)

	// Ben writes a private note mentioning Ann, picking her from the
	// suggestions by keyboard: Ann is notified, and Facebook gets nothing.
	before := len(e.graph.all())
	ben.do(chromedp.Click(chromedp.CSS(".thread-title")), press("n"))
	if mode := eval[string](ben, `document.querySelector('.composer').dataset.mode`); mode != "note" {
		t.Fatalf("'n' switched the composer to %q", mode)
	}
	ben.do(chromedp.SendKeys(chromedp.CSS(".composer textarea"), "Refund approved? @an"))
	poll[bool](ben, "the mention suggestions", `[...document.querySelectorAll('.mention-list [role=option]')].some(o => o.textContent.startsWith('Ann Agent'))`)
	ben.do(press(kb.Enter))
	if v := eval[string](ben, `document.querySelector('.composer textarea').value`); v != "Refund approved? @ann " {
		t.Fatalf("after picking the mention the note reads %q", v)
	}
	ben.do(chromedp.SendKeys(chromedp.CSS(".composer textarea"), "please confirm"), chromedp.Click(chromedp.CSS(".composer button[type=submit]")))
	poll[bool](ann, "the note in Ann's thread", `[...document.querySelectorAll('.msg.note .msg-text')].some(p => p.textContent === 'Refund approved? @ann please confirm')`)
	poll[bool](ann, "Ann's mention notification", `(() => { const b = document.querySelector('.bell .badge'); return b && !b.hidden && b.textContent === '1'; })()`)
	ann.do(chromedp.Click(chromedp.CSS(".bell")))
	if got := eval[string](ann, `document.querySelector('#notifications-panel li a').textContent`); got != "Ben Agent mentioned you in a note" {
		t.Errorf("notification reads %q", got)
	}
	ann.do(press(kb.Escape))
	if n := len(e.graph.all()); n != before {
		t.Errorf("a private note reached the Graph API (%d calls after, %d before)", n, before)
	}

	// Ann labels the conversation and inserts a canned response.
	ann.do(chromedp.SendKeys(chromedp.CSS(".label-add input"), "shipping"), chromedp.Click(chromedp.CSS(".label-add button[type=submit]")))
	poll[bool](ann, "the label on the conversation", `[...document.querySelectorAll('.label-list li')].some(li => li.textContent.startsWith('shipping'))`)
	if labels, _ := e.must(200, "GET", "/api/v1/conversations/"+convID, admin, nil)["labels"].([]any); len(labels) != 1 || labels[0] != "shipping" {
		t.Errorf("labels in the API: %v", labels)
	}
	rendered := e.must(200, "POST", "/api/v1/canned-responses/"+canned["id"].(string)+"/render", admin, map[string]string{"conversation_id": convID})["text"].(string)
	poll[bool](ann, "the canned responses", fmt.Sprintf(`(() => { const s = document.querySelector('.composer-actions select'); return !s.hidden && [...s.options].some(o => o.value === %q); })()`, canned["id"]))
	// By keyboard: the arrow key on the closed select picks the first response.
	ann.do(chromedp.Click(chromedp.CSS(`.composer input[value="reply"]`)), chromedp.Focus(chromedp.CSS(".composer-actions select")), press(kb.ArrowDown))
	poll[bool](ann, "the canned response in the reply box", fmt.Sprintf(`document.querySelector('.composer textarea').value === %q`, rendered))
	eval[bool](ann, `(() => { document.querySelector('.composer textarea').value = ''; return true; })()`)

	// Keyboard: "a" focuses the assignee, assigning by keyboard reaches the API.
	ann.do(chromedp.Click(chromedp.CSS(".thread-title")), press("a"))
	if id := eval[string](ann, `document.activeElement.id`); !strings.HasPrefix(id, "assign") {
		t.Fatalf("'a' focused %q", id)
	}
	if v := eval[string](ann, `document.activeElement.value`); v != "" {
		t.Fatalf("pressing 'a' changed the assignee to %q: the key was typed into the select", v)
	}
	ann.do(chromedp.SetValue(chromedp.CSS(`.thread-actions select[id^="assign"]`), agentOne))
	if eval[string](ann, `document.activeElement.value`) != agentOne {
		t.Fatal("the select did not take the value")
	}
	waitAPI(t, "assignment", func() bool {
		c := e.must(200, "GET", "/api/v1/conversations/"+convID, admin, nil)
		return c["assignee_id"] == agentOne
	})
	// "e" resolves.
	ann.do(chromedp.Click(chromedp.CSS(".thread-title")), press("e"))
	waitAPI(t, "the conversation resolved", func() bool {
		return e.must(200, "GET", "/api/v1/conversations/"+convID, admin, nil)["status"] == "resolved"
	})
	poll[bool](ann, "the status shown resolved", `document.querySelector('.thread-actions select[id^="status"]').value === 'resolved'`)
	// "?" lists the shortcuts.
	ann.do(chromedp.Click(chromedp.CSS(".thread-title")), press("?"))
	poll[bool](ann, "the shortcuts dialog", `document.querySelector('#shortcuts-dialog[open]') !== null`)
	ann.do(press(kb.Escape))
	poll[bool](ann, "the dialog closed", `document.querySelector('#shortcuts-dialog') === null`)

	// The narrow layout shows one pane at a time.
	ann.resize(390, 844)
	poll[bool](ann, "the narrow layout", `getComputedStyle(document.querySelector('.list-pane')).display === 'none' && getComputedStyle(document.querySelector('.back-link')).display !== 'none'`)
	ann.screenshot("conversation-narrow")
	ann.resize(1280, 800)

	checkAccessible(t, ann)
	checkAccessible(t, ben)

	// Ann's reply is a first response: the manager's report shows it as the API counts it.
	e.user(admin, "mia@example.com", "Mia Manager", "manager", "mia-password-1")
	from := time.Now().UTC().AddDate(0, 0, -13).Format(time.DateOnly)
	to := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	var first, resolution map[string]any
	waitAPI(t, "Ann's first response and resolution in the report", func() bool {
		rep := e.must(200, "GET", "/api/v1/reports/responses?group_by=agent&from="+from+"&to="+to, admin, nil)
		kinds, _ := rep["kinds"].(map[string]any)
		find := func(kind string) map[string]any {
			rows, _ := kinds[kind].([]any)
			for _, r := range rows {
				if row := r.(map[string]any); row["group"] == agentOne {
					return row
				}
			}
			return nil
		}
		first, resolution = find("first_response"), find("resolution")
		return first != nil && resolution != nil
	})
	man := b.tab("mia", e.url, 1280, 800)
	man.login("mia@example.com", "mia-password-1")
	man.open("/reports")
	poll[bool](man, "Ann's row in the report", fmt.Sprintf(`document.querySelector('#report-table tr[data-key=%q]') !== null`, agentOne))
	cells := eval[[]string](man, fmt.Sprintf(`[...document.querySelectorAll('#report-table tr[data-key=%q] :is(th, td)')].map(c => c.textContent)`, agentOne))
	if len(cells) < 4 || cells[0] != "Ann Agent" || cells[1] != strconv.FormatInt(num(first["count"]), 10) ||
		cells[2] != seconds(first["median_seconds"].(float64)) || cells[3] != seconds(first["p90_seconds"].(float64)) ||
		cells[4] != seconds(resolution["median_seconds"].(float64)) || cells[5] != seconds(resolution["p90_seconds"].(float64)) {
		t.Errorf("report row %v, API first response %v, resolution %v", cells, first, resolution)
	}
	if n := eval[int](man, `document.querySelectorAll('.report svg.chart').length`); n < 2 {
		t.Errorf("%d report charts, want first response and resolution", n)
	}
	man.screenshot("reports")
	checkAccessible(t, man)

	// Bulk: Ann selects both conversations and assigns them to Ben.
	ann.open("/inbox?status=all")
	poll[bool](ann, "both conversations", `document.querySelectorAll('.conv .pick').length === 2`)
	ann.do(chromedp.Click(chromedp.CSS(`.conv[data-conversation-id="`+convID+`"] .pick`)), chromedp.Click(chromedp.CSS(`.conv[data-conversation-id="`+second+`"] .pick`)))
	poll[bool](ann, "the bulk bar", `!document.querySelector('.bulk').hidden && document.querySelector('.bulk-count').textContent === '2 selected'`)
	choose(t, ann, "#bulk-assign", benID)
	waitAPI(t, "both assigned to Ben", func() bool {
		for _, id := range []string{convID, second} {
			if e.must(200, "GET", "/api/v1/conversations/"+id, admin, nil)["assignee_id"] != benID {
				return false
			}
		}
		return true
	})

	for _, tb := range []*tab{ann, ben, man} {
		tb.consoleErrors()
	}
}

// seconds renders a duration the way the console's format.duration does.
func seconds(x float64) string {
	s := int64(math.Round(max(0, x)))
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm %02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh %02dm", s/3600, (s%3600)/60)
	}
	return fmt.Sprintf("%dd %dh", s/86400, (s%86400)/3600)
}

// TestConsoleManager is the managers' acceptance test: a customer's value,
// referral tree and orders read exactly as the API computes them, top
// customers, segments and reports. Screenshots of the profile and reports.
func TestConsoleManager(t *testing.T) {
	e := startStack(t)
	b := newBrowser(t)
	admin := e.login(adminEmail, adminPassword)
	e.user(admin, "mia@example.com", "Mia Manager", "manager", "mia-password-1")
	mia := e.login("mia@example.com", "mia-password-1")
	contactID, refID := seedOrders(t, e, mia)
	api := e.must(200, "GET", "/api/v1/contacts/"+contactID, mia, nil)
	value := api["value"].(map[string]any)
	if value["currency"] != "USD" {
		t.Fatalf("workspace currency %v; the test formats USD", value["currency"])
	}
	man := b.tab("mia", e.url, 1280, 800)
	man.login("mia@example.com", "mia-password-1")
	man.open("/contacts/" + contactID)
	poll[bool](man, "the value panel", `document.querySelector('[data-value="total"] dd') !== null`)
	type shown struct{ Minor, Text string }
	got := eval[map[string]shown](man, `Object.fromEntries([...document.querySelectorAll('[data-value]')].map(el => [el.dataset.value, {Minor: el.querySelector('dd').dataset.minor, Text: el.querySelector('dd').textContent}]))`)
	for _, k := range []string{"direct", "referral", "total"} {
		want := num(value[k])
		if got[k].Minor != strconv.FormatInt(want, 10) || got[k].Text != usd(want) {
			t.Errorf("%s: page shows %q (%s minor), API says %d = %q", k, got[k].Text, got[k].Minor, want, usd(want))
		}
	}
	levels := eval[[]shown](man, `[...document.querySelectorAll('.levels-table tr[data-level] td[data-minor]')].map(td => ({Minor: td.dataset.minor, Text: td.textContent}))`)
	apiLevels, _ := value["referral_by_level"].([]any)
	if len(levels) != len(apiLevels) {
		t.Fatalf("levels shown %v, API %v", levels, apiLevels)
	}
	for i, l := range apiLevels {
		if levels[i].Text != usd(num(l)) {
			t.Errorf("level %d: page %q, API %d", i+1, levels[i].Text, num(l))
		}
	}
	referred := api["referred"].([]any)[0].(map[string]any)
	refTotal := num(referred["value"].(map[string]any)["total"])
	if row := eval[string](man, fmt.Sprintf(`document.querySelector('table.referred tr[data-contact-id=%q] td.num').textContent`, refID)); row != usd(refTotal) {
		t.Errorf("referred customer's value: page %q, API %s", row, usd(refTotal))
	}
	if n := eval[int](man, `document.querySelectorAll('svg.chart').length`); n < 2 {
		t.Errorf("%d charts on the profile, want the value breakdown and the trend", n)
	}
	man.screenshot("profile")

	// An expired token: the next call asks for the password again, in place.
	eval[bool](man, `(() => { const s = JSON.parse(sessionStorage.getItem('ci.session')); s.token = 'expired.' + s.token.split('.').slice(1).join('.'); sessionStorage.setItem('ci.session', JSON.stringify(s)); return true; })()`)
	man.open("/customers")
	poll[bool](man, "the sign-in-again dialog", `document.querySelector('dialog[open] #reauth-password') !== null`)
	if got := eval[string](man, `document.querySelector('#reauth-email').value`); got != "mia@example.com" {
		t.Errorf("the dialog does not remember who was signed in: %q", got)
	}
	man.do(chromedp.SendKeys(chromedp.CSS("#reauth-password"), "mia-password-1"), chromedp.Click(chromedp.CSS("dialog[open] button[type=submit]")))
	poll[bool](man, "top customers", fmt.Sprintf(`document.querySelector('#top-customers tr[data-contact-id=%q]') !== null`, contactID))
	seg := e.must(201, "POST", "/api/v1/segments", mia, map[string]any{"name": "Spent over $1,000", "filter": map[string]any{"total_min": 100000}})
	segCount := num(e.must(200, "GET", "/api/v1/segments/"+seg["id"].(string)+"/count", mia, nil)["count"])
	man.open("/segments")
	shownCount := poll[string](man, "the segment's count", fmt.Sprintf(`(document.querySelector('.seg-count[data-segment-id=%q]')||{dataset:{}}).dataset.count`, seg["id"]))
	if shownCount != strconv.FormatInt(segCount, 10) || segCount != 1 {
		t.Errorf("segment count: page %s, API %d (want 1: only Lena spent over $1,000)", shownCount, segCount)
	}

	man.resize(390, 844)
	man.open("/contacts/" + contactID)
	poll[bool](man, "the narrow profile", `document.querySelector('[data-value="total"] dd') !== null`)
	if w := eval[int](man, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the profile scrolls sideways on a phone: %dpx wide", w)
	}
	man.screenshot("profile-narrow")
	man.resize(1280, 800)

	man.open("/reports")
	poll[bool](man, "the report", `document.querySelector('.report[aria-busy="false"] :is(table, .notice, .muted)') !== null`)
	// No conversation was answered here: the page must say so, not draw empty charts.
	if got := eval[string](man, `document.querySelector('.report').textContent`); got != "No conversations in this period." {
		t.Errorf("reports without data: %q", got)
	}
	checkAccessible(t, man)

	checkMoneyModule(t, man)
	man.consoleErrors()
}

// choose picks an option of a select as a user does: value, then change.
func choose(t *testing.T, tb *tab, sel, value string) {
	t.Helper()
	if !eval[bool](tb, fmt.Sprintf(`(() => { const s = document.querySelector(%q); if (![...s.options].some(o => o.value === %q)) return false; s.value = %q; s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`, sel, value, value)) {
		t.Fatalf("%s: %s has no option %q", tb.name, sel, value)
	}
}

func waitAPI(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("API never showed %s", what)
}

// seedOrders books orders for Lena and for Omar, whom Lena referred, and
// returns their contact ids.
func seedOrders(t *testing.T, e *env, token string) (lena, omar string) {
	t.Helper()
	out := e.must(201, "POST", "/api/v1/orders", token, map[string]any{"external_id": "e2e-1", "customer": map[string]string{"email": "lena@example.com", "name": "Lena Park"},
		"currency": "USD", "total_minor": 123456, "created_at": time.Now().AddDate(0, -2, 0).UTC().Format(time.RFC3339)})
	lena = out["contact_id"].(string)
	e.must(201, "POST", "/api/v1/orders", token, map[string]any{"external_id": "e2e-2", "customer": map[string]string{"email": "lena@example.com"},
		"currency": "USD", "total_minor": 5099, "created_at": time.Now().AddDate(0, -1, 0).UTC().Format(time.RFC3339)})
	code := e.must(200, "POST", "/api/v1/contacts/"+lena+"/referral-code", token, nil)["referral_code"].(string)
	out = e.must(201, "POST", "/api/v1/orders", token, map[string]any{"external_id": "e2e-3", "customer": map[string]string{"email": "omar@example.com", "name": "Omar Reyes"},
		"currency": "USD", "total_minor": 20050, "referral_code": code})
	if out["referral"] != "linked" {
		t.Fatalf("referral not linked: %v", out)
	}
	return lena, out["contact_id"].(string)
}

// checkAccessible fails on controls a screen reader cannot name: buttons
// without text or label, form fields without a label.
func checkAccessible(t *testing.T, tb *tab) {
	t.Helper()
	bad := eval[[]string](tb, `(() => {
		const out = [];
		const visible = (el) => el.getClientRects().length > 0;
		for (const b of document.querySelectorAll('button, a[href]')) {
			if (!visible(b)) continue;
			const name = (b.getAttribute('aria-label') || b.textContent || '').trim();
			if (!name) out.push(b.outerHTML.slice(0, 120));
		}
		for (const f of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
			if (!visible(f)) continue;
			const named = (f.labels && f.labels.length) || f.getAttribute('aria-label') || f.getAttribute('aria-labelledby');
			if (!named) out.push(f.outerHTML.slice(0, 120));
		}
		for (const d of document.querySelectorAll('div[onclick], span[onclick]')) out.push(d.outerHTML.slice(0, 120));
		// WCAG AA contrast of every visible text against its effective background.
		const parse = (c) => { const m = /rgba?\(([^)]+)\)/.exec(c); if (!m) return null; const p = m[1].split(',').map(Number); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
		const lum = ({ r, g, b }) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
		const bgOf = (el) => { for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a >= 0.99) return c; } return { r: 255, g: 255, b: 255, a: 1 }; };
		for (const el of document.querySelectorAll('body *')) {
			if (el.closest('svg, .visually-hidden, .skip-link, option, :disabled, dialog:not([open])')) continue;
			if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
			if (!visible(el)) continue;
			const cs = getComputedStyle(el);
			if (cs.visibility === 'hidden') continue;
			const fg = parse(cs.color), bg = bgOf(el);
			const hi = Math.max(lum(fg), lum(bg)), lo = Math.min(lum(fg), lum(bg));
			const ratio = (hi + 0.05) / (lo + 0.05);
			const size = parseFloat(cs.fontSize), bold = parseInt(cs.fontWeight, 10) >= 700;
			const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
			if (ratio < need) out.push('contrast ' + ratio.toFixed(2) + ' < ' + need + ': ' + el.tagName + ' "' + el.textContent.trim().slice(0, 40) + '"');
		}
		return out;
	})()`)
	for _, b := range bad {
		t.Errorf("%s: not accessible: %s", tb.name, b)
	}
}

// checkMoneyModule runs the console's money formatting in the browser,
// where it actually runs, against exact expectations.
func checkMoneyModule(t *testing.T, tb *tab) {
	t.Helper()
	src := eval[string](tb, `document.querySelector('script[type=module]').src.replace(/main\.js$/, 'money.js')`)
	got := eval[[]string](tb, fmt.Sprintf(`import(%q).then(m => [
		m.formatMoney(123456, 'USD'), m.formatMoney(1234, 'JPY'), m.formatMoney(1234567, 'BHD'), m.formatMoney(-5, 'EUR'),
		m.formatMoney(900719925474099, 'USD'), m.toDecimal(7, 'USD'), m.toDecimal(-1050, 'BHD'),
		String(m.parseMoney('12.5', 'USD')), String(m.parseMoney('1,200', 'JPY')), String(m.parseMoney('1.234', 'USD')), String(m.parseMoney('abc', 'USD')),
		String(m.exponent('JPY')), String(m.exponent('BHD')), String(m.exponent('USD')),
	])`, src))
	want := []string{"$1,234.56", "¥1,234", "BHD 1,234.567", "-€0.05", "$9,007,199,254,740.99", "0.07", "-1.050",
		"1250", "1200", "null", "null", "0", "3", "2"}
	if len(got) != len(want) {
		t.Fatalf("money module: %v", got)
	}
	for i := range want {
		// Intl puts a no-break space between some codes and amounts.
		if strings.ReplaceAll(got[i], "\u00a0", " ") != want[i] {
			t.Errorf("money case %d: got %q, want %q", i, got[i], want[i])
		}
	}
}
