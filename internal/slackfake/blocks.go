package slackfake

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Block Kit and message limits, from Slack's Block Kit reference (docs.slack.dev/reference/block-kit/...),
// the chat.postMessage reference and the modal view reference. Lengths count characters (runes).
const (
	MaxMessageBlocks    = 50    // blocks per message
	MaxViewBlocks       = 100   // blocks per modal / Home tab
	MaxMessageTextChars = 40000 // chat.postMessage text; beyond → msg_too_long

	maxAttachments       = 100
	maxBlockID           = 255
	maxActionID          = 255
	maxTextObject        = 3000 // any text object
	maxSectionText       = 3000
	maxSectionFields     = 10
	maxSectionFieldText  = 2000
	maxHeaderText        = 150
	maxContextElements   = 10
	maxActionsElements   = 25
	maxButtonText        = 75
	maxButtonValue       = 2000
	maxURL               = 3000
	maxAccessibility     = 75
	maxConfirmTitle      = 100
	maxConfirmText       = 300
	maxConfirmButton     = 30
	maxPlaceholder       = 150
	maxOptionText        = 75
	maxOptionValue       = 150
	maxOptionDescription = 75
	maxSelectOptions     = 100
	maxOptionGroups      = 100
	maxOptionGroupLabel  = 75
	maxOverflowOptions   = 5
	maxChoiceOptions     = 10 // checkboxes, radio_buttons
	maxImageAltText      = 2000
	maxImageTitle        = 2000
	maxInputLabel        = 2000
	maxInputHint         = 2000
	maxInputLength       = 3000 // plain_text_input min_length/max_length
	maxVideoTitle        = 200
	maxMarkdownChars     = 12000 // cumulative over the markdown blocks of one payload
	maxTableRows         = 100
	maxTableCells        = 20

	maxViewTitle           = 24
	maxViewButton          = 24 // submit, close
	maxViewPrivateMetadata = 3000
	maxViewCallbackID      = 255
	maxViewExternalID      = 255
	maxViewBytes           = 250 * 1024 // views.* → view_too_large

	maxReportedErrors = 25
)

// Surface is where blocks are rendered; it decides the block count cap and which block types exist.
type Surface int

const (
	SurfaceMessage Surface = iota
	SurfaceModal
)

var surfaceBlocks = map[Surface][]string{
	SurfaceMessage: {"actions", "context", "divider", "file", "header", "image", "input", "markdown", "rich_text", "section", "table", "video"},
	SurfaceModal:   {"actions", "context", "divider", "header", "image", "input", "rich_text", "section", "video"},
}

var (
	selectMenus = []string{
		"static_select", "external_select", "users_select", "conversations_select", "channels_select",
		"multi_static_select", "multi_external_select", "multi_users_select", "multi_conversations_select",
		"multi_channels_select",
	}
	actionsElements = append([]string{
		"button", "checkboxes", "datepicker", "datetimepicker", "overflow", "radio_buttons", "timepicker",
		"workflow_button", "rich_text_input",
	}, selectMenus...)
	accessoryElements = append([]string{
		"button", "checkboxes", "datepicker", "image", "overflow", "radio_buttons", "timepicker", "workflow_button",
	}, selectMenus...)
	inputElements = append([]string{
		"checkboxes", "datepicker", "datetimepicker", "email_text_input", "file_input", "number_input",
		"plain_text_input", "radio_buttons", "rich_text_input", "timepicker", "url_text_input",
	}, selectMenus...)
	richTextElements = []string{"rich_text_section", "rich_text_list", "rich_text_preformatted", "rich_text_quote"}

	datePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	timePattern = regexp.MustCompile(`^\d{2}:\d{2}$`)
)

// BlockError is one Block Kit schema violation: a JSON pointer into the payload and Slack's wording.
type BlockError struct {
	Pointer string
	Message string
}

// String renders the error as Slack does: "<message> [json-pointer:<pointer>]".
func (e BlockError) String() string { return fmt.Sprintf("%s [json-pointer:%s]", e.Message, e.Pointer) }

// ValidateBlocks checks a JSON array of blocks against Slack's Block Kit schema and limits for surface.
// Pointers start at /blocks. It returns nil when the blocks would be accepted.
func ValidateBlocks(blocks []byte, surface Surface) []BlockError {
	var v any
	if err := json.Unmarshal(blocks, &v); err != nil {
		return []BlockError{{Pointer: "/blocks", Message: "must be a valid JSON array"}}
	}
	val := &validator{surface: surface}
	limit := MaxMessageBlocks
	if surface == SurfaceModal {
		limit = MaxViewBlocks
	}
	val.blocks("/blocks", v, limit)
	return val.result()
}

// ValidateView checks a modal view object (views.open/push/update). Pointers start at /view.
func ValidateView(view []byte) []BlockError {
	var v any
	if err := json.Unmarshal(view, &v); err != nil {
		return []BlockError{{Pointer: "/view", Message: "must be a valid JSON object"}}
	}
	val := &validator{surface: SurfaceModal}
	val.view("/view", v)
	return val.result()
}

type validator struct {
	surface       Surface
	errs          []BlockError
	markdownChars int
}

func (v *validator) result() []BlockError {
	if len(v.errs) > maxReportedErrors {
		return v.errs[:maxReportedErrors]
	}
	return v.errs
}

func (v *validator) fail(ptr, format string, args ...any) {
	v.errs = append(v.errs, BlockError{Pointer: ptr, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) tooLong(ptr string, max int) {
	v.fail(ptr, "must be less than %d characters", max+1)
}

// object returns val as an object, reporting it otherwise.
func (v *validator) object(ptr string, val any) (map[string]any, bool) {
	m, ok := val.(map[string]any)
	if !ok {
		v.fail(ptr, "must be an object")
	}
	return m, ok
}

// field returns m[key] treating JSON null as absent.
func field(m map[string]any, key string) (any, bool) {
	val, ok := m[key]
	if !ok || val == nil {
		return nil, false
	}
	return val, true
}

// str checks an optional (or required) string field with a maximum length.
func (v *validator) str(ptr string, m map[string]any, key string, max int, required bool) (string, bool) {
	val, ok := field(m, key)
	if !ok {
		if required {
			v.fail(ptr, "missing required field: %s", key)
		}
		return "", false
	}
	s, isStr := val.(string)
	if !isStr {
		v.fail(ptr+"/"+key, "must be a string")
		return "", false
	}
	if required && s == "" {
		v.fail(ptr+"/"+key, "must be more than 0 characters")
		return s, false
	}
	if max > 0 && utf8.RuneCountInString(s) > max {
		v.tooLong(ptr+"/"+key, max)
		return s, false
	}
	return s, true
}

func (v *validator) boolean(ptr string, m map[string]any, key string) {
	if val, ok := field(m, key); ok {
		if _, isBool := val.(bool); !isBool {
			v.fail(ptr+"/"+key, "must be a boolean")
		}
	}
}

func (v *validator) enum(ptr string, m map[string]any, key string, allowed ...string) {
	if s, ok := v.str(ptr, m, key, 0, false); ok && !slices.Contains(allowed, s) {
		v.fail(ptr+"/"+key, "must be one of: %s", strings.Join(allowed, ", "))
	}
}

// array checks an array field's presence and size bounds and returns its items.
func (v *validator) array(ptr string, m map[string]any, key string, minItems, maxItems int, required bool) []any {
	val, ok := field(m, key)
	if !ok {
		if required {
			v.fail(ptr, "missing required field: %s", key)
		}
		return nil
	}
	items, isArr := val.([]any)
	if !isArr {
		v.fail(ptr+"/"+key, "must be an array")
		return nil
	}
	if len(items) < minItems {
		v.fail(ptr+"/"+key, "must have at least %d items", minItems)
	}
	if maxItems > 0 && len(items) > maxItems {
		v.fail(ptr+"/"+key, "no more than %d items allowed", maxItems)
		return items[:maxItems]
	}
	return items
}

// text checks a text object: {"type":"plain_text"|"mrkdwn","text":…}; emoji only on plain_text,
// verbatim only on mrkdwn.
func (v *validator) text(ptr string, val any, plainOnly bool, max int) {
	m, ok := v.object(ptr, val)
	if !ok {
		return
	}
	typ, _ := m["type"].(string)
	switch {
	case typ != "plain_text" && typ != "mrkdwn":
		v.fail(ptr+"/type", "unsupported type: %v", m["type"])
		return
	case plainOnly && typ != "plain_text":
		v.fail(ptr+"/type", "must be plain_text")
	}
	if max == 0 {
		max = maxTextObject
	}
	v.str(ptr, m, "text", max, true)
	if _, has := field(m, "emoji"); has && typ == "mrkdwn" {
		v.fail(ptr+"/emoji", "emoji is only allowed for plain_text")
	}
	if _, has := field(m, "verbatim"); has && typ == "plain_text" {
		v.fail(ptr+"/verbatim", "verbatim is only allowed for mrkdwn")
	}
	v.boolean(ptr, m, "emoji")
	v.boolean(ptr, m, "verbatim")
}

func (v *validator) optionalText(ptr string, m map[string]any, key string, plainOnly bool, max int, required bool) {
	val, ok := field(m, key)
	if !ok {
		if required {
			v.fail(ptr, "missing required field: %s", key)
		}
		return
	}
	v.text(ptr+"/"+key, val, plainOnly, max)
}

func (v *validator) blocks(ptr string, val any, limit int) {
	items, ok := val.([]any)
	if !ok {
		v.fail(ptr, "must be an array")
		return
	}
	if len(items) > limit {
		v.fail(ptr, "no more than %d items allowed", limit)
		items = items[:limit]
	}
	seen := map[string]bool{}
	for i, b := range items {
		bp := fmt.Sprintf("%s/%d", ptr, i)
		m, ok := v.object(bp, b)
		if !ok {
			continue
		}
		if id, ok := v.str(bp, m, "block_id", maxBlockID, false); ok {
			if seen[id] {
				v.fail(bp+"/block_id", "duplicate block_id: %s", id)
			}
			seen[id] = true
		}
		v.block(bp, m)
	}
	if v.markdownChars > maxMarkdownChars {
		v.fail(ptr, "markdown blocks must not exceed %d cumulative characters", maxMarkdownChars)
	}
}

func (v *validator) block(ptr string, m map[string]any) {
	typ, _ := m["type"].(string)
	if !slices.Contains(surfaceBlocks[v.surface], typ) {
		v.fail(ptr+"/type", "unsupported type: %v", m["type"])
		return
	}
	switch typ {
	case "section":
		_, hasText := field(m, "text")
		_, hasFields := field(m, "fields")
		_, hasExpand := field(m, "expand")
		if !hasText && !hasFields {
			v.fail(ptr, "missing required field: text")
		}
		v.optionalText(ptr, m, "text", false, maxSectionText, false)
		for i, f := range v.array(ptr, m, "fields", 1, maxSectionFields, false) {
			v.text(fmt.Sprintf("%s/fields/%d", ptr, i), f, false, maxSectionFieldText)
		}
		if acc, ok := field(m, "accessory"); ok {
			v.element(ptr+"/accessory", acc, accessoryElements)
		}
		if hasExpand {
			v.boolean(ptr, m, "expand")
		}
	case "header":
		v.optionalText(ptr, m, "text", true, maxHeaderText, true)
	case "divider":
	case "context":
		for i, el := range v.array(ptr, m, "elements", 1, maxContextElements, true) {
			ep := fmt.Sprintf("%s/elements/%d", ptr, i)
			em, ok := v.object(ep, el)
			if !ok {
				continue
			}
			if em["type"] == "image" {
				v.imageElement(ep, em)
			} else {
				v.text(ep, em, false, 0)
			}
		}
	case "actions":
		ids := map[string]bool{}
		for i, el := range v.array(ptr, m, "elements", 1, maxActionsElements, true) {
			ep := fmt.Sprintf("%s/elements/%d", ptr, i)
			v.element(ep, el, actionsElements)
			if em, ok := el.(map[string]any); ok {
				if id, ok := em["action_id"].(string); ok && id != "" {
					if ids[id] {
						v.fail(ep+"/action_id", "duplicate action_id: %s", id)
					}
					ids[id] = true
				}
			}
		}
	case "image":
		v.imageElement(ptr, m)
		v.optionalText(ptr, m, "title", true, maxImageTitle, false)
	case "input":
		v.optionalText(ptr, m, "label", true, maxInputLabel, true)
		v.optionalText(ptr, m, "hint", true, maxInputHint, false)
		if el, ok := field(m, "element"); ok {
			v.element(ptr+"/element", el, inputElements)
		} else {
			v.fail(ptr, "missing required field: element")
		}
		v.boolean(ptr, m, "optional")
		v.boolean(ptr, m, "dispatch_action")
	case "markdown":
		if s, ok := v.str(ptr, m, "text", maxMarkdownChars, true); ok {
			v.markdownChars += utf8.RuneCountInString(s)
		}
	case "rich_text":
		for i, el := range v.array(ptr, m, "elements", 0, 0, true) {
			ep := fmt.Sprintf("%s/elements/%d", ptr, i)
			if em, ok := v.object(ep, el); ok {
				if t, _ := em["type"].(string); !slices.Contains(richTextElements, t) {
					v.fail(ep+"/type", "unsupported type: %v", em["type"])
				}
			}
		}
	case "video":
		v.str(ptr, m, "alt_text", 0, true)
		v.optionalText(ptr, m, "title", true, maxVideoTitle, true)
		v.str(ptr, m, "thumbnail_url", maxURL, true)
		v.str(ptr, m, "video_url", maxURL, true)
	case "file":
		v.str(ptr, m, "external_id", 0, true)
		v.enum(ptr, m, "source", "remote")
	case "table":
		for i, row := range v.array(ptr, m, "rows", 1, maxTableRows, true) {
			if cells, ok := row.([]any); !ok {
				v.fail(fmt.Sprintf("%s/rows/%d", ptr, i), "must be an array")
			} else if len(cells) > maxTableCells {
				v.fail(fmt.Sprintf("%s/rows/%d", ptr, i), "no more than %d items allowed", maxTableCells)
			}
		}
	}
}

func (v *validator) imageElement(ptr string, m map[string]any) {
	_, hasURL := field(m, "image_url")
	_, hasFile := field(m, "slack_file")
	if !hasURL && !hasFile {
		v.fail(ptr, "missing required field: image_url")
	}
	v.str(ptr, m, "image_url", maxURL, false)
	v.str(ptr, m, "alt_text", maxImageAltText, true)
}

// element checks an interactive (or image) element and that its type is allowed where it sits.
func (v *validator) element(ptr string, val any, allowed []string) {
	m, ok := v.object(ptr, val)
	if !ok {
		return
	}
	typ, _ := m["type"].(string)
	if !slices.Contains(allowed, typ) {
		v.fail(ptr+"/type", "unsupported type: %v", m["type"])
		return
	}
	if typ != "image" {
		v.str(ptr, m, "action_id", maxActionID, false)
	}
	if c, ok := field(m, "confirm"); ok {
		v.confirm(ptr+"/confirm", c)
	}
	isMulti := strings.HasPrefix(typ, "multi_")
	switch typ {
	case "button":
		v.optionalText(ptr, m, "text", true, maxButtonText, true)
		v.str(ptr, m, "value", maxButtonValue, false)
		v.str(ptr, m, "url", maxURL, false)
		v.enum(ptr, m, "style", "primary", "danger")
		v.str(ptr, m, "accessibility_label", maxAccessibility, false)
	case "workflow_button":
		v.optionalText(ptr, m, "text", true, maxButtonText, true)
		if _, ok := field(m, "workflow"); !ok {
			v.fail(ptr, "missing required field: workflow")
		}
		v.enum(ptr, m, "style", "primary", "danger")
	case "image":
		v.imageElement(ptr, m)
	case "overflow":
		for i, o := range v.array(ptr, m, "options", 1, maxOverflowOptions, true) {
			v.option(fmt.Sprintf("%s/options/%d", ptr, i), o, true)
		}
	case "checkboxes", "radio_buttons":
		for i, o := range v.array(ptr, m, "options", 1, maxChoiceOptions, true) {
			v.option(fmt.Sprintf("%s/options/%d", ptr, i), o, false)
		}
		if typ == "checkboxes" {
			for i, o := range v.array(ptr, m, "initial_options", 0, maxChoiceOptions, false) {
				v.option(fmt.Sprintf("%s/initial_options/%d", ptr, i), o, false)
			}
		} else if o, ok := field(m, "initial_option"); ok {
			v.option(ptr+"/initial_option", o, false)
		}
	case "static_select", "multi_static_select":
		v.optionalText(ptr, m, "placeholder", true, maxPlaceholder, false)
		_, hasOptions := field(m, "options")
		_, hasGroups := field(m, "option_groups")
		switch {
		case hasOptions && hasGroups:
			v.fail(ptr, "must provide either options or option_groups, not both")
		case !hasOptions && !hasGroups:
			v.fail(ptr, "missing required field: options")
		}
		for i, o := range v.array(ptr, m, "options", 1, maxSelectOptions, false) {
			v.option(fmt.Sprintf("%s/options/%d", ptr, i), o, true)
		}
		for i, g := range v.array(ptr, m, "option_groups", 1, maxOptionGroups, false) {
			gp := fmt.Sprintf("%s/option_groups/%d", ptr, i)
			if gm, ok := v.object(gp, g); ok {
				v.optionalText(gp, gm, "label", true, maxOptionGroupLabel, true)
				for j, o := range v.array(gp, gm, "options", 1, maxSelectOptions, true) {
					v.option(fmt.Sprintf("%s/options/%d", gp, j), o, true)
				}
			}
		}
		if o, ok := field(m, "initial_option"); ok && !isMulti {
			v.option(ptr+"/initial_option", o, true)
		}
	case "plain_text_input":
		v.optionalText(ptr, m, "placeholder", true, maxPlaceholder, false)
		v.boolean(ptr, m, "multiline")
		minLen, hasMin := number(m, "min_length")
		maxLen, hasMax := number(m, "max_length")
		if hasMin && (minLen < 0 || minLen > maxInputLength) {
			v.fail(ptr+"/min_length", "must be between 0 and %d", maxInputLength)
		}
		if hasMax && (maxLen < 1 || maxLen > maxInputLength) {
			v.fail(ptr+"/max_length", "must be between 1 and %d", maxInputLength)
		}
		if hasMin && hasMax && minLen > maxLen {
			v.fail(ptr+"/min_length", "must not be greater than max_length")
		}
	case "datepicker":
		v.optionalText(ptr, m, "placeholder", true, maxPlaceholder, false)
		if d, ok := v.str(ptr, m, "initial_date", 0, false); ok && !datePattern.MatchString(d) {
			v.fail(ptr+"/initial_date", "must be in the format YYYY-MM-DD")
		}
	case "timepicker":
		v.optionalText(ptr, m, "placeholder", true, maxPlaceholder, false)
		if t, ok := v.str(ptr, m, "initial_time", 0, false); ok && !timePattern.MatchString(t) {
			v.fail(ptr+"/initial_time", "must be in the format HH:mm")
		}
	default: // other selects, text-ish inputs, datetimepicker, file_input, rich_text_input
		v.optionalText(ptr, m, "placeholder", true, maxPlaceholder, false)
	}
	if isMulti {
		if n, ok := number(m, "max_selected_items"); ok && n < 1 {
			v.fail(ptr+"/max_selected_items", "must be at least 1")
		}
	}
}

func number(m map[string]any, key string) (float64, bool) {
	n, ok := m[key].(float64)
	return n, ok
}

// option checks an option object; menus (select, overflow) take plain_text only, checkboxes and radio
// buttons also mrkdwn.
func (v *validator) option(ptr string, val any, plainOnly bool) {
	m, ok := v.object(ptr, val)
	if !ok {
		return
	}
	v.optionalText(ptr, m, "text", plainOnly, maxOptionText, true)
	v.str(ptr, m, "value", maxOptionValue, true)
	v.optionalText(ptr, m, "description", plainOnly, maxOptionDescription, false)
	v.str(ptr, m, "url", maxURL, false)
}

func (v *validator) confirm(ptr string, val any) {
	m, ok := v.object(ptr, val)
	if !ok {
		return
	}
	v.optionalText(ptr, m, "title", true, maxConfirmTitle, true)
	v.optionalText(ptr, m, "text", false, maxConfirmText, true)
	v.optionalText(ptr, m, "confirm", true, maxConfirmButton, true)
	v.optionalText(ptr, m, "deny", true, maxConfirmButton, true)
	v.enum(ptr, m, "style", "primary", "danger")
}

func (v *validator) view(ptr string, val any) {
	m, ok := v.object(ptr, val)
	if !ok {
		return
	}
	typ, _ := m["type"].(string)
	if typ != "modal" {
		v.fail(ptr+"/type", "unsupported type: %v", m["type"])
	}
	v.optionalText(ptr, m, "title", true, maxViewTitle, true)
	v.optionalText(ptr, m, "submit", true, maxViewButton, false)
	v.optionalText(ptr, m, "close", true, maxViewButton, false)
	v.str(ptr, m, "private_metadata", maxViewPrivateMetadata, false)
	v.str(ptr, m, "callback_id", maxViewCallbackID, false)
	v.str(ptr, m, "external_id", maxViewExternalID, false)
	v.boolean(ptr, m, "clear_on_close")
	v.boolean(ptr, m, "notify_on_close")
	blocks, ok := field(m, "blocks")
	if !ok {
		v.fail(ptr, "missing required field: blocks")
		return
	}
	v.blocks(ptr+"/blocks", blocks, MaxViewBlocks)
	if _, hasSubmit := field(m, "submit"); !hasSubmit {
		if items, ok := blocks.([]any); ok {
			for _, b := range items {
				if bm, ok := b.(map[string]any); ok && bm["type"] == "input" {
					v.fail(ptr, "submit is required when the view has an input block")
					break
				}
			}
		}
	}
}
