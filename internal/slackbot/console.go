package slackbot

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/slackrender"
)

// Console is a local stand-in for Slack: it reads `/postman …` lines, runs them through the same dispatcher,
// and prints what Slack would show, as text. Buttons print as `[Label] click <token>`; typing that line clicks.
type Console struct {
	Dispatcher *Dispatcher
	Out        io.Writer
	mu         sync.Mutex
	meta       map[string]string // private_metadata of the last form opened, by callback ID
}

// ConsoleUser is who the console acts as.
const (
	ConsoleTeam    = "T0CONSOLE"
	ConsoleUser    = "U0CONSOLE"
	ConsoleChannel = "C0CONSOLE"
)

// Reply implements Responder by printing.
func (c *Console) Reply(_ context.Context, _ Request, msg slackrender.Message, mode ReplyMode) error {
	c.print(msg, mode)
	return nil
}

// OpenView implements Responder: a modal becomes a prompt to type the value.
func (c *Console) OpenView(_ context.Context, _ string, view slack.ModalViewRequest) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	title := ""
	if view.Title != nil {
		title = view.Title.Text
	}
	if c.meta == nil {
		c.meta = map[string]string{}
	}
	c.meta[view.CallbackID] = view.PrivateMetadata
	fmt.Fprintf(c.Out, "[modal %q] type: submit %s <value>\n", title, view.CallbackID)
	return nil
}

func (c *Console) print(msg slackrender.Message, mode ReplyMode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prefix := ""
	switch {
	case mode.InChannel:
		prefix = "[to channel] "
	case mode.ReplaceOriginal:
		prefix = "[updated] "
	}
	fmt.Fprint(c.Out, prefix+BlocksText(msg))
	if !strings.HasSuffix(BlocksText(msg), "\n") {
		fmt.Fprintln(c.Out)
	}
}

// Run reads lines until in ends or ctx is done.
func (c *Console) Run(ctx context.Context, in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	fmt.Fprintln(c.Out, "pmops Slack console: type /postman help (Ctrl-D quits)")
	for sc.Scan() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		req := Request{TeamID: ConsoleTeam, UserID: ConsoleUser, UserName: "console", ChannelID: ConsoleChannel}
		switch {
		case strings.HasPrefix(line, "click "):
			req.Kind, req.ActionValue = KindAction, strings.TrimSpace(strings.TrimPrefix(line, "click "))
		case strings.HasPrefix(line, "submit "):
			parts := strings.SplitN(strings.TrimPrefix(line, "submit "), " ", 2)
			if len(parts) != 2 {
				fmt.Fprintln(c.Out, "usage: submit <callback> <value>")
				continue
			}
			req.Kind, req.ViewCallbackID = KindViewSubmission, parts[0]
			req.ViewValues = map[string]string{loginAction: parts[1], secretAction: parts[1]}
			c.mu.Lock()
			req.ViewMetadata = c.meta[parts[0]]
			c.mu.Unlock()
		default:
			req.Kind = KindCommand
			req.Text = strings.TrimSpace(strings.TrimPrefix(line, "/postman"))
			req.TriggerID = "console-trigger"
		}
		ack := c.Dispatcher.Handle(ctx, req)
		if ack.Message != nil {
			c.print(*ack.Message, ReplyMode{InChannel: ack.InChannel})
		}
		if ack.Sent != nil {
			ack.Sent()
		}
		for block, problem := range ack.ViewErrors {
			fmt.Fprintf(c.Out, "[modal error] %s: %s\n", block, problem)
		}
		c.Dispatcher.Idle()
	}
	return sc.Err()
}

// BlocksText renders a message as plain text, as a reader of the console (or a test) sees it.
func BlocksText(m slackrender.Message) string {
	if len(m.Blocks) == 0 {
		return m.Text + "\n"
	}
	var b strings.Builder
	for _, blk := range m.Blocks {
		switch x := blk.(type) {
		case *slack.HeaderBlock:
			fmt.Fprintf(&b, "== %s ==\n", textOf(x.Text))
		case *slack.SectionBlock:
			if x.Text != nil {
				fmt.Fprintln(&b, textOf(x.Text))
			}
			for _, f := range x.Fields {
				fmt.Fprintf(&b, "  %s\n", strings.ReplaceAll(textOf(f), "\n", " "))
			}
			if x.Accessory != nil && x.Accessory.ButtonElement != nil {
				fmt.Fprintln(&b, buttonText(x.Accessory.ButtonElement))
			}
		case *slack.ContextBlock:
			var parts []string
			for _, el := range x.ContextElements.Elements {
				if t, ok := el.(*slack.TextBlockObject); ok {
					parts = append(parts, textOf(t))
				}
			}
			fmt.Fprintf(&b, "  (%s)\n", strings.Join(parts, " · "))
		case *slack.ActionBlock:
			for _, el := range x.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok {
					fmt.Fprintln(&b, buttonText(btn))
				}
			}
		case *slack.DividerBlock:
			b.WriteString("----\n")
		case *slack.RichTextBlock, *slack.MarkdownBlock:
			b.WriteString(m.Text + "\n")
		}
	}
	return b.String()
}

func buttonText(btn *slack.ButtonBlockElement) string {
	label := textOf(btn.Text)
	if btn.URL != "" {
		return fmt.Sprintf("[%s] %s", label, btn.URL)
	}
	return fmt.Sprintf("[%s] click %s", label, btn.Value)
}

// slackDate is a <!date^…|fallback> token; the console shows its fallback.
var slackDate = regexp.MustCompile(`<!date\^[^|>]*\|([^>]*)>`)

// textOf unescapes Slack's three entities for display.
func textOf(t *slack.TextBlockObject) string {
	if t == nil {
		return ""
	}
	r := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")
	return r.Replace(slackDate.ReplaceAllString(t.Text, "$1"))
}
