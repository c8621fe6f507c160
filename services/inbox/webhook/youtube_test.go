package webhook

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseYouTubeChannelThreadsWithReplies(t *testing.T) {
	got, next, err := ParseYouTubeCommentThreads(fixture(t, "youtube/commentThreads_list_with_replies.json"))
	if err != nil {
		t.Fatal(err)
	}
	if next != "" {
		t.Errorf("nextPageToken = %q, want none", next)
	}
	const channel = "UC5VgEt3Na1zZDJo-PBa86Rg"
	// 12 threads, one reply, one comment edited after publishing.
	rows := []struct {
		action                 Action
		id, video, author, who string
		parent                 string
		ts                     string
		textPrefix             string
	}{
		{ActionMessage, "Ugzc1eTk3km7w2K7Nj94AaABAg", "ZxDp8Yz133c", "UChI67Wu4R0KUqOInqw7WDhw", "meruwood", "", "2021-09-30T23:56:42Z", "From kenya am anxiously waiting"},
		{ActionMessage, "UgwcD5AA3yJKSQO2rUp4AaABAg", "CXvXHo_MTvU", "UCkJYSM5j-GsLuaXZZBqySWw", "Sam King", "", "2021-06-22T17:21:28Z", "I actually think otherwise that data is "},
		{ActionMessage, "Ugy_iutcldn1gg1Vz8F4AaABAg", "KvkzKVCH_GA", "UCQ_RkMTVbZUz_0iJM0_Lg2A", "Kate Mytty", "", "2021-02-26T22:38:20Z", "wish us luck! really loved this breakdow"},
		{ActionMessage, "Ugyj5iMx3qtJpd7w5tJ4AaABAg", "6UQlSUJja6s", "UCvJkaV_ZHI5LEtDvcZo_Tsg", "Vanessa walker", "", "2020-11-28T08:22:26Z", "Amazing, keep up the good work!! You sho"},
		{ActionMessage, "UgwgOEoTjJewCgE49Vp4AaABAg", "PZxT2kmZB2U", "UCOwMYmoe3W8s1NjwLGYNRMw", "Gozer The Gatekeeper", "", "2020-11-09T15:33:29Z", "pandemic bullshit has lost legs"},
		{ActionMessage, "UgxotVs49igXgj1EQw54AaABAg", "PZxT2kmZB2U", "UCTYI6nGOuW5N3k7rBvpjQVQ", "Prensa por la verdad", "", "2020-11-06T22:57:47Z", "The following pieces of information are "},
		{ActionMessage, "Ugw5RK7UZUI-UOueYCB4AaABAg", "Yjx1VYMTpUU", "UCzB3cFLvJnuTMvgym_FX_zQ", "عبدالرزاق العزعزي", "", "2020-11-01T07:41:33Z", "Thank you for this instructions"},
		{ActionMessage, "UgyQvpUGpllGYOg0Frp4AaABAg", "kqAX8BxMbAk", "UCX_oUzGG70mgmYNdkf68o-g", "Khanyisa Oyowe", "", "2020-07-24T15:55:31Z", "What Fergus refers to with having an att"},
		{ActionMessage, "UgzmcxjTAkfX-GFoytp4AaABAg", "tjOPx7J14Qk", "UCqflq0KOemn8RY6oobTsHhA", "Muhammad Bashir Ibrahim", "", "2020-07-23T13:21:33Z", "In-depth insights by subject matter expe"},
		{ActionMessage, "Ugh3p7eIPb2zJngCoAEC", "NmPJ3DWT5iw", "UCyJ5PZDSmhIAIIXw-TH1cFg", "George Nielsen", "", "2017-06-06T18:29:09Z", "Fascinating in that as technology create"},
		{ActionEdit, "Ugh3p7eIPb2zJngCoAEC", "NmPJ3DWT5iw", "UCyJ5PZDSmhIAIIXw-TH1cFg", "George Nielsen", "", "2017-06-06T18:29:55Z", "Fascinating in that as technology create"},
		{ActionMessage, "UghpFKUJfaHCZHgCoAEC", "ibpMob4wgHs", "UCOzeBPoPhME0WMsswHvvj_g", "InsightShare", "", "2016-09-25T06:19:41Z", "Thanks for facilitating and sharing this"},
		{ActionMessage, "UghpFKUJfaHCZHgCoAEC.8JEh4_ERo0a8JFaFXGFIQc", "ibpMob4wgHs", channel, "Build Up", "UghpFKUJfaHCZHgCoAEC", "2016-09-25T14:39:15Z", "Thanks for watching! When the film was m"},
		{ActionMessage, "UggJUwUwxRqmK3gCoAEC", "NmPJ3DWT5iw", "UCpVkDoY7PI6T9c6jHBkOGmQ", "Deejay fresstyle", "", "2016-06-20T14:24:22Z", "hey"},
	}
	if len(got) != len(rows) {
		t.Fatalf("got %d events, want %d", len(got), len(rows))
	}
	for i, r := range rows {
		ev := got[i]
		if ev.Platform != YouTube || ev.AccountID != channel || ev.Kind != KindComment || ev.Action != r.action ||
			ev.ExternalID != r.id || ev.ThreadKey != r.video || ev.ParentID != r.parent ||
			ev.Author.UserID != r.author || ev.Author.Name != r.who ||
			!reflect.DeepEqual(ev.Post, &Post{ID: r.video, Type: "video"}) ||
			!ev.Timestamp.Equal(parseRFC3339(r.ts)) || !strings.HasPrefix(ev.Text, r.textPrefix) {
			t.Errorf("event %d = %+v\nwant %+v", i, ev, r)
		}
	}
	checkInvariants(t, got, YouTube)

	// The channel answering InsightShare: an echo, with the answered author as customer.
	insight := Identity{Platform: YouTube, UserID: "UCOzeBPoPhME0WMsswHvvj_g", Name: "InsightShare"}
	reply := got[12]
	if !reply.Echo || reply.Customer != insight || reply.Author.UserID != channel {
		t.Errorf("reply: Echo %v, Author %+v, Customer %+v", reply.Echo, reply.Author, reply.Customer)
	}
	if got[11].Echo || got[11].Customer != insight {
		t.Errorf("top-level comment: Echo %v, Customer %+v", got[11].Echo, got[11].Customer)
	}
	if got[0].DedupeKey != "youtube:"+channel+":message:Ugzc1eTk3km7w2K7Nj94AaABAg" {
		t.Errorf("DedupeKey = %q", got[0].DedupeKey)
	}
	if !strings.HasPrefix(got[10].DedupeKey, "youtube:"+channel+":edit:Ugh3p7eIPb2zJngCoAEC:1496773795000.") {
		t.Errorf("edit DedupeKey = %q", got[10].DedupeKey)
	}
	if got[9].Text != `Fascinating in that as technology creates a sort of leveling process, it also poses new and much more complex humanitarian concerns in terms of how it is used. Sort of gives new meaning to the old notion of "information is power".` {
		t.Errorf("text = %q", got[9].Text)
	}
	if !strings.HasSuffix(got[5].Text, "Description (10 minutes): http://pontes-canosa-research.blogspot.com/2018/04/revelations-with-virtu-pontes-jordan.html") {
		t.Errorf("long text truncated: ...%q", got[5].Text[len(got[5].Text)-80:])
	}
}

func TestParseYouTubeVideoThreadsPage(t *testing.T) {
	got, next, err := ParseYouTubeCommentThreads(fixture(t, "youtube/commentThreads_list_by_video_page1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "QURTSl9pMzdZOUVzMkI0czlmRmNjSVBPcTBTdzVzajUydDVnbE5SNElWS0l5WU12amYweVotdzF5c1hTNmxzUmVIcEZXbmVEVFMzNVJmWk82TVVwUlB2LWh5aUpOQlA5TGQzTWZEcHlTeTd2dlNGRUFZaVF0cmtJd01BTHlnOG0="; next != want {
		t.Errorf("nextPageToken = %q", next)
	}
	video := &Post{ID: "F1UP7wRCPH8", Type: "video"}
	who := func(id, name string) Identity { return Identity{Platform: YouTube, UserID: id, Name: name} }
	comment := func(id string, author Identity, text string, ts string) Event {
		return Event{
			Platform: YouTube, Action: ActionMessage, Kind: KindComment, ExternalID: id,
			ThreadKey: "F1UP7wRCPH8", Post: video, Author: author, Customer: author, Text: text,
			Timestamp: parseRFC3339(ts), DedupeKey: "youtube::message:" + id,
		}
	}
	// This 2019 response has no channelId, so AccountID is empty; textOriginal
	// is used over the HTML textDisplay.
	assertEvents(t, got, []Event{
		comment("UgyZ1jqkHKYvi1-ruOZ4AaABAg", who("UCzj-CjKYmGlZ7vTL-vOe57A", "himani agarwal"), "Google.com", "2019-11-26T15:51:44.000Z"),
		comment("Ugy4OzAuz5uJuFt3FH54AaABAg", who("UCGBUkig1Ala-Z2gF73WSTdw", "el bojo loco"), "Please use CLS on your own search results page..", "2019-11-21T19:18:39.000Z"),
		comment("UgysQP-vp089eFP0Stl4AaABAg", who("UCzZ87J8wYVpOADFviqyFKhw", "Andres Jorquera"), "Funny that they use heroku to show a demo instead of google cloud", "2019-11-17T11:34:48.000Z"),
		comment("UgyKv8ziPYFJDGytM_J4AaABAg", who("UCHJQ8PHPGprvhKdLVHLwRPA", "Masum Khan"), "All account on Android store for data show the Google and YouTube video Android computer system fordata show\n        settings displayed", "2019-11-16T20:05:39.000Z"),
		comment("UgwI_ylXVnzPS8Q-oAV4AaABAg", who("UCACHW4qVHoE4zqhHxcVE3Kw", "matrix uduma"), "Lot's of good light coming in from here #ChromeDevSummit the web is evolving at a very fast rate, keeping pace with all this advancement can really get you gasping for breath. But here is #chromedevsummit packing it and shooting at me as one bullet. I really appreciate the work you guys are doing here.", "2019-11-14T23:31:33.000Z"),
	})
	if got[0].Timestamp != utc(2019, 11, 26, 15, 51, 44, 0) {
		t.Errorf("Timestamp = %v", got[0].Timestamp)
	}
}

// textOriginal is only returned to the comment's author and the channel
// owner; without it the HTML textDisplay must reduce to the same text. Both
// fixtures carry both, which makes every real comment a test case.
func TestYouTubeTextDisplayFallbackMatchesTextOriginal(t *testing.T) {
	for _, file := range fixtures(t, "youtube") {
		var r struct {
			Items []struct {
				Snippet struct {
					TopLevelComment ytComment `json:"topLevelComment"`
				} `json:"snippet"`
				Replies *struct {
					Comments []ytComment `json:"comments"`
				} `json:"replies"`
			} `json:"items"`
		}
		if err := json.Unmarshal(fixture(t, file), &r); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, it := range r.Items {
			cs := []ytComment{it.Snippet.TopLevelComment}
			if it.Replies != nil {
				cs = append(cs, it.Replies.Comments...)
			}
			for _, c := range cs {
				n++
				if got := plainText(c.Snippet.TextDisplay); got != c.Snippet.TextOriginal {
					t.Errorf("%s %s: plainText(textDisplay) = %q, want %q", file, c.ID, got, c.Snippet.TextOriginal)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: no comments", file)
		}
	}
	for in, want := range map[string]string{
		"a < b":                "a < b",
		"x<br>y<br/>z<BR />w":  "x\ny\nz\nw",
		"<b>bold</b> &amp; co": "bold & co",
		"unclosed <a href":     "unclosed <a href",
	} {
		if got := plainText(in); got != want {
			t.Errorf("plainText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseYouTubeTextDisplayAndChannelComments(t *testing.T) {
	body := `{"items":[{"snippet":{"channelId":"UCme","topLevelComment":{"id":"c1","snippet":{
		"channelId":"UCme","textDisplay":"hi &amp; <b>bye</b>","authorDisplayName":"@fan1","authorChannelId":{"value":"UCfan"},
		"publishedAt":"2024-01-01T00:00:00Z","updatedAt":"2024-01-01T00:00:00Z"}}}}]}`
	got, _, err := ParseYouTubeCommentThreads([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	fan := Identity{Platform: YouTube, UserID: "UCfan", Handle: "fan1", Name: "@fan1"}
	assertEvents(t, got, []Event{{
		Platform: YouTube, AccountID: "UCme", Action: ActionMessage, Kind: KindComment, ExternalID: "c1",
		ThreadKey: "UCme", Post: &Post{ID: "UCme", Type: "channel"}, Author: fan, Customer: fan,
		Text: "hi & bye", Timestamp: utc(2024, 1, 1, 0, 0, 0, 0), DedupeKey: "youtube:UCme:message:c1",
	}})
}

func TestParseYouTubeErrors(t *testing.T) {
	_, _, err := ParseYouTubeCommentThreads([]byte(`{"error":{"code":403,"message":"The caller does not have permission","errors":[]}}`))
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "permission") {
		t.Errorf("api error: err = %v", err)
	}
	for _, body := range []string{``, `[]`, `{"items":{}}`, `{"items":[{"snippet":{"topLevelComment":{"snippet":{"authorChannelId":5}}}}]}`} {
		if _, _, err := ParseYouTubeCommentThreads([]byte(body)); err == nil {
			t.Errorf("ParseYouTubeCommentThreads(%q): no error", body)
		}
	}
}
