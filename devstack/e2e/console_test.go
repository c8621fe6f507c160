package e2e

import (
	"encoding/json"
	"fmt"
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

// TestConsole is the console's acceptance test: an agent sees a Messenger
// message arrive live, answers it and the answer reaches Facebook; a second
// agent sees the first one typing; a manager reads a customer's value exactly
// as the API computes it. Screenshots of the main screens are written along
// the way.
func TestConsole(t *testing.T) {
	e := startStack(t)
	b := newBrowser(t)

	admin := e.login(adminEmail, adminPassword)
	agentOne := e.user(admin, "ann@example.com", "Ann Agent", "agent", "ann-password-1")
	e.user(admin, "ben@example.com", "Ben Agent", "agent", "ben-password-1")
	e.user(admin, "mia@example.com", "Mia Manager", "manager", "mia-password-1")

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

	// Keyboard: "a" focuses the assignee, assigning by keyboard reaches the API.
	ann.do(chromedp.Click(chromedp.CSS(".thread-title")), chromedp.KeyEvent("a"))
	if id := eval[string](ann, `document.activeElement.id`); !strings.HasPrefix(id, "assign") {
		t.Fatalf("'a' focused %q", id)
	}
	ann.do(chromedp.SetValue(chromedp.CSS(`.thread-actions select[id^="assign"]`), agentOne),
		chromedp.Evaluate[chromedp.Void](`document.activeElement.dispatchEvent(new Event('change', {bubbles: true}))`))
	waitAPI(t, "assignment", func() bool {
		c := e.must(200, "GET", "/api/v1/conversations/"+convID, admin, nil)
		return c["assignee_id"] == agentOne
	})
	// "?" lists the shortcuts.
	ann.do(chromedp.Click(chromedp.CSS(".thread-title")), chromedp.KeyEvent("?"))
	poll[bool](ann, "the shortcuts dialog", `document.querySelector('#shortcuts-dialog[open]') !== null`)
	ann.do(chromedp.KeyEvent(kb.Escape))
	poll[bool](ann, "the dialog closed", `document.querySelector('#shortcuts-dialog') === null`)

	// The narrow layout shows one pane at a time.
	ann.resize(390, 844)
	poll[bool](ann, "the narrow layout", `getComputedStyle(document.querySelector('.list-pane')).display === 'none' && getComputedStyle(document.querySelector('.back-link')).display !== 'none'`)
	ann.screenshot("conversation-narrow")
	ann.resize(1280, 800)

	checkAccessible(t, ann)
	checkAccessible(t, ben)

	// A manager reads a customer's value.
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

	man.open("/customers")
	poll[bool](man, "top customers", fmt.Sprintf(`document.querySelector('#top-customers tr[data-contact-id=%q]') !== null`, contactID))
	man.open("/reports")
	poll[bool](man, "the report", `document.querySelector('.report[aria-busy="false"] :is(table, .notice, .muted)') !== null`)
	reportRows := eval[int](man, `document.querySelectorAll('#report-table tbody tr').length`)
	if st, _ := e.call("GET", "/api/v1/reports/responses?group_by=agent", mia, nil); st == 200 && reportRows == 0 {
		t.Errorf("the reports endpoint answers but the page shows no rows")
	}
	man.screenshot("reports")
	checkAccessible(t, man)

	checkMoneyModule(t, man)
	for _, tb := range []*tab{ann, ben, man} {
		tb.consoleErrors()
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
