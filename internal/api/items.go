package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// The collection-item endpoints (/collections/{id}/requests|folders|responses) speak Postman's item model, not
// the Collection v2.1 document: a request has method, url, headerData, queryParams, dataMode/rawModeData and
// events; a folder has order and folders_order; a response has responseCode, headers and text. Answers come in
// the envelope {model_id, meta, data, revision}. The collection path segment is sent as the plain collection ID
// (the vendor's PUT notes demand it; the other operations document an ID too), and item IDs likewise.
//
// Every item struct keeps keys it does not model in Extra and writes unchanged ones back verbatim, so a GET →
// edit → PUT loses nothing.

// ItemResult is the envelope of every collection-item answer.
type ItemResult[T any] struct {
	// ModelID is the item's ID.
	ModelID string `json:"model_id"`
	// Meta says what happened: {"model": "request", "action": "import" | "find" | "update" | "destroy", ...}.
	Meta map[string]any `json:"meta,omitempty"`
	Data T              `json:"data"`
	// Revision is the collection's revision after a write (absent from reads).
	Revision int64 `json:"revision,omitempty"`
}

// ItemRef is what a delete answers with.
type ItemRef struct {
	ID    string `json:"id"`
	Owner string `json:"owner,omitempty"`
}

// ItemParam is one entry of headerData, queryParams, form data or a response's headers.
type ItemParam struct {
	Key         string  `json:"key"`
	Value       string  `json:"value"`
	Description *string `json:"description,omitempty"`
	// Enabled is false for a disabled entry; nil means enabled.
	Enabled *bool  `json:"enabled,omitempty"`
	Type    string `json:"type,omitempty"`

	docMeta
}

// CollectionRequest is a request in the item model. As input (create, update) only the set fields are sent;
// the update endpoint cannot move a request to another folder.
type CollectionRequest struct {
	ID          string  `json:"id,omitempty"`
	Name        string  `json:"name,omitempty"`
	Description *string `json:"description,omitempty"`
	// Method is GET, POST, PUT, PATCH, DELETE, ... (the API's enum).
	Method string  `json:"method,omitempty"`
	URL    *string `json:"url,omitempty"`
	// HeaderData are the headers. (The vendor's create example sends "headers" instead; that key stays in Extra.)
	HeaderData  []ItemParam `json:"headerData,omitempty"`
	QueryParams []ItemParam `json:"queryParams,omitempty"`
	// DataMode is raw, urlencoded, formdata, binary or graphql; the body is in RawModeData, Data (form entries)
	// or GraphQLModeData; DataOptions holds e.g. {"raw": {"language": "json"}}.
	DataMode        string          `json:"dataMode,omitempty"`
	Data            []ItemParam     `json:"data,omitempty"`
	RawModeData     *string         `json:"rawModeData,omitempty"`
	GraphQLModeData json.RawMessage `json:"graphqlModeData,omitempty"`
	DataOptions     json.RawMessage `json:"dataOptions,omitempty"`
	// Auth is an auth object ({"type": "bearer", "bearer": [...]}); answers may also carry null or a bare type
	// name, so it stays raw. Use NewAuth to build one.
	Auth json.RawMessage `json:"auth,omitempty"`
	// Events are the pre-request and test scripts.
	Events []Event `json:"events,omitempty"`

	// Answer-only fields.
	Folder         *string  `json:"folder,omitempty"`
	Collection     string   `json:"collection,omitempty"`
	Owner          string   `json:"owner,omitempty"`
	LastUpdatedBy  string   `json:"lastUpdatedBy,omitempty"`
	LastRevision   int64    `json:"lastRevision,omitempty"`
	Responses      []string `json:"responses,omitempty"`
	ResponsesOrder []string `json:"responses_order,omitempty"`
	CreatedAt      string   `json:"createdAt,omitempty"`
	UpdatedAt      string   `json:"updatedAt,omitempty"`

	docMeta
}

// CollectionFolder is a folder in the item model. As input, Folder is the parent folder's ID (create only).
type CollectionFolder struct {
	ID          string          `json:"id,omitempty"`
	Name        string          `json:"name,omitempty"`
	Description *string         `json:"description,omitempty"`
	Folder      *string         `json:"folder,omitempty"`
	Auth        json.RawMessage `json:"auth,omitempty"`
	Events      []Event         `json:"events,omitempty"`
	Variables   json.RawMessage `json:"variables,omitempty"`

	// Answer-only fields: Order lists the folder's request IDs, FoldersOrder its sub-folder IDs.
	Collection    string   `json:"collection,omitempty"`
	Owner         string   `json:"owner,omitempty"`
	LastUpdatedBy string   `json:"lastUpdatedBy,omitempty"`
	LastRevision  int64    `json:"lastRevision,omitempty"`
	Order         []string `json:"order,omitempty"`
	FoldersOrder  []string `json:"folders_order,omitempty"`
	Folders       []string `json:"folders,omitempty"`
	Requests      []string `json:"requests,omitempty"`
	CreatedAt     string   `json:"createdAt,omitempty"`
	UpdatedAt     string   `json:"updatedAt,omitempty"`

	docMeta
}

// ResponseCode is a saved response's status.
type ResponseCode struct {
	Code int    `json:"code"`
	Name string `json:"name,omitempty"`
}

// CollectionResponse is a saved response (an example) in the item model. URL, Method, DataMode, RawModeData
// and DataOptions describe the request it answered.
type CollectionResponse struct {
	ID           string        `json:"id,omitempty"`
	Name         string        `json:"name,omitempty"`
	Description  *string       `json:"description,omitempty"`
	ResponseCode *ResponseCode `json:"responseCode,omitempty"`
	// Status is the reason text ("OK"); Time the response time in ms, as a string.
	Status      *string     `json:"status,omitempty"`
	Time        *string     `json:"time,omitempty"`
	Headers     []ItemParam `json:"headers,omitempty"`
	Cookies     *string     `json:"cookies,omitempty"`
	Mime        *string     `json:"mime,omitempty"`
	Text        *string     `json:"text,omitempty"`
	Language    string      `json:"language,omitempty"`
	RawDataType *string     `json:"rawDataType,omitempty"`
	// RequestObject is the answered request, JSON-encoded in a string.
	RequestObject *string `json:"requestObject,omitempty"`

	URL         *string         `json:"url,omitempty"`
	Method      string          `json:"method,omitempty"`
	DataMode    string          `json:"dataMode,omitempty"`
	RawModeData *string         `json:"rawModeData,omitempty"`
	DataOptions json.RawMessage `json:"dataOptions,omitempty"`

	// Answer-only fields: Request is the ID of the request it belongs to.
	Request       string `json:"request,omitempty"`
	Owner         string `json:"owner,omitempty"`
	LastUpdatedBy string `json:"lastUpdatedBy,omitempty"`
	LastRevision  int64  `json:"lastRevision,omitempty"`
	CreatedAt     string `json:"createdAt,omitempty"`
	UpdatedAt     string `json:"updatedAt,omitempty"`

	docMeta
}

func (p *ItemParam) UnmarshalJSON(data []byte) error {
	type plain ItemParam
	return decodeDoc(data, (*plain)(p))
}

func (p ItemParam) MarshalJSON() ([]byte, error) {
	type plain ItemParam
	return encodeDoc(plain(p))
}

func (r *CollectionRequest) UnmarshalJSON(data []byte) error {
	type plain CollectionRequest
	return decodeDoc(data, (*plain)(r))
}

func (r CollectionRequest) MarshalJSON() ([]byte, error) {
	type plain CollectionRequest
	return encodeDoc(plain(r))
}

func (f *CollectionFolder) UnmarshalJSON(data []byte) error {
	type plain CollectionFolder
	return decodeDoc(data, (*plain)(f))
}

func (f CollectionFolder) MarshalJSON() ([]byte, error) {
	type plain CollectionFolder
	return encodeDoc(plain(f))
}

func (r *CollectionResponse) UnmarshalJSON(data []byte) error {
	type plain CollectionResponse
	return decodeDoc(data, (*plain)(r))
}

func (r CollectionResponse) MarshalJSON() ([]byte, error) {
	type plain CollectionResponse
	return encodeDoc(plain(r))
}

// NewAuth builds an item-model auth object: NewAuth("bearer", map[string]string{"token": "{{token}}"}).
func NewAuth(typ string, attrs map[string]string) json.RawMessage {
	obj := map[string]any{"type": typ}
	if typ != "noauth" {
		list := []map[string]string{}
		for k, v := range attrs {
			list = append(list, map[string]string{"key": k, "value": v, "type": "string"})
		}
		obj[typ] = list
	}
	b, _ := json.Marshal(obj)
	return b
}

// GetItemOptions are the query flags of the item GET endpoints.
type GetItemOptions struct {
	// IDs returns only the item's ID properties; UID returns UIDs; Populate returns the item's full contents.
	IDs, UID, Populate bool
}

func (o GetItemOptions) query() url.Values {
	q := url.Values{}
	if o.IDs {
		q.Set("ids", "true")
	}
	if o.UID {
		q.Set("uid", "true")
	}
	if o.Populate {
		q.Set("populate", "true")
	}
	return q
}

// itemPath builds /collections/{plain collection ID}/{kind}[/{plain item ID}].
func itemPath(kind, collectionID, itemID string, withItem bool) (string, error) {
	cp, err := pathID("collection", PlainID(collectionID))
	if err != nil {
		return "", err
	}
	p := "/collections/" + cp + "/" + kind + "s"
	if withItem {
		ip, err := pathID(kind, PlainID(itemID))
		if err != nil {
			return "", err
		}
		p += "/" + ip
	}
	return p, nil
}

func itemCall[T any](ctx context.Context, c *Client, r request) (ItemResult[T], error) {
	var out ItemResult[T]
	if err := c.call(ctx, r, &out); err != nil {
		return ItemResult[T]{}, err
	}
	if out.ModelID == "" && out.Meta == nil {
		return ItemResult[T]{}, fmt.Errorf("%s %s: the answer has no model_id or meta; it is not an item answer", r.method, r.path)
	}
	return out, nil
}

// CreateRequestOptions places a new request.
type CreateRequestOptions struct {
	// FolderID puts the request in that folder (sent as ?folderId=); "" puts it at the collection's root.
	FolderID string
}

// CreateCollectionRequest calls POST /collections/{collectionId}/requests[?folderId=].
func (c *Client) CreateCollectionRequest(ctx context.Context, collectionID string, in CollectionRequest, opts CreateRequestOptions) (ItemResult[CollectionRequest], error) {
	p, err := itemPath("request", collectionID, "", false)
	if err != nil {
		return ItemResult[CollectionRequest]{}, fmt.Errorf("create request: %w", err)
	}
	q := url.Values{}
	setIf(q, "folderId", PlainID(opts.FolderID))
	return itemCall[CollectionRequest](ctx, c, request{method: http.MethodPost, path: p, query: q, body: in})
}

// GetCollectionRequest calls GET /collections/{collectionId}/requests/{requestId}.
func (c *Client) GetCollectionRequest(ctx context.Context, collectionID, requestID string, opts GetItemOptions) (ItemResult[CollectionRequest], error) {
	p, err := itemPath("request", collectionID, requestID, true)
	if err != nil {
		return ItemResult[CollectionRequest]{}, fmt.Errorf("get request: %w", err)
	}
	return itemCall[CollectionRequest](ctx, c, request{method: http.MethodGet, path: p, query: opts.query()})
}

// UpdateCollectionRequest calls PUT /collections/{collectionId}/requests/{requestId}: the fields set in in are
// changed, the others kept. It cannot move the request to another folder.
func (c *Client) UpdateCollectionRequest(ctx context.Context, collectionID, requestID string, in CollectionRequest) (ItemResult[CollectionRequest], error) {
	p, err := itemPath("request", collectionID, requestID, true)
	if err != nil {
		return ItemResult[CollectionRequest]{}, fmt.Errorf("update request: %w", err)
	}
	return itemCall[CollectionRequest](ctx, c, request{method: http.MethodPut, path: p, body: in})
}

// DeleteCollectionRequest calls DELETE /collections/{collectionId}/requests/{requestId}.
func (c *Client) DeleteCollectionRequest(ctx context.Context, collectionID, requestID string) (ItemResult[ItemRef], error) {
	p, err := itemPath("request", collectionID, requestID, true)
	if err != nil {
		return ItemResult[ItemRef]{}, fmt.Errorf("delete request: %w", err)
	}
	return itemCall[ItemRef](ctx, c, request{method: http.MethodDelete, path: p})
}

// CreateCollectionFolder calls POST /collections/{collectionId}/folders. in.Folder, when set, is the parent
// folder's ID; nil creates the folder at the collection's root.
func (c *Client) CreateCollectionFolder(ctx context.Context, collectionID string, in CollectionFolder) (ItemResult[CollectionFolder], error) {
	p, err := itemPath("folder", collectionID, "", false)
	if err != nil {
		return ItemResult[CollectionFolder]{}, fmt.Errorf("create folder: %w", err)
	}
	if in.Folder != nil {
		in.Folder = ptrTo(PlainID(*in.Folder))
	}
	return itemCall[CollectionFolder](ctx, c, request{method: http.MethodPost, path: p, body: in})
}

// GetCollectionFolder calls GET /collections/{collectionId}/folders/{folderId}.
func (c *Client) GetCollectionFolder(ctx context.Context, collectionID, folderID string, opts GetItemOptions) (ItemResult[CollectionFolder], error) {
	p, err := itemPath("folder", collectionID, folderID, true)
	if err != nil {
		return ItemResult[CollectionFolder]{}, fmt.Errorf("get folder: %w", err)
	}
	return itemCall[CollectionFolder](ctx, c, request{method: http.MethodGet, path: p, query: opts.query()})
}

// UpdateCollectionFolder calls PUT /collections/{collectionId}/folders/{folderId}, which acts like a PATCH: only
// the fields set in in change.
func (c *Client) UpdateCollectionFolder(ctx context.Context, collectionID, folderID string, in CollectionFolder) (ItemResult[CollectionFolder], error) {
	p, err := itemPath("folder", collectionID, folderID, true)
	if err != nil {
		return ItemResult[CollectionFolder]{}, fmt.Errorf("update folder: %w", err)
	}
	return itemCall[CollectionFolder](ctx, c, request{method: http.MethodPut, path: p, body: in})
}

// DeleteCollectionFolder calls DELETE /collections/{collectionId}/folders/{folderId} (with everything in it).
func (c *Client) DeleteCollectionFolder(ctx context.Context, collectionID, folderID string) (ItemResult[ItemRef], error) {
	p, err := itemPath("folder", collectionID, folderID, true)
	if err != nil {
		return ItemResult[ItemRef]{}, fmt.Errorf("delete folder: %w", err)
	}
	return itemCall[ItemRef](ctx, c, request{method: http.MethodDelete, path: p})
}

// CreateCollectionResponse calls POST /collections/{collectionId}/responses?request={requestId}: a saved
// response (example) of that request.
func (c *Client) CreateCollectionResponse(ctx context.Context, collectionID, requestID string, in CollectionResponse) (ItemResult[CollectionResponse], error) {
	p, err := itemPath("response", collectionID, "", false)
	if err != nil {
		return ItemResult[CollectionResponse]{}, fmt.Errorf("create response: %w", err)
	}
	if _, err := pathID("request", PlainID(requestID)); err != nil {
		return ItemResult[CollectionResponse]{}, fmt.Errorf("create response: %w", err)
	}
	return itemCall[CollectionResponse](ctx, c, request{method: http.MethodPost, path: p, query: url.Values{"request": {PlainID(requestID)}}, body: in})
}

// GetCollectionResponse calls GET /collections/{collectionId}/responses/{responseId}.
func (c *Client) GetCollectionResponse(ctx context.Context, collectionID, responseID string, opts GetItemOptions) (ItemResult[CollectionResponse], error) {
	p, err := itemPath("response", collectionID, responseID, true)
	if err != nil {
		return ItemResult[CollectionResponse]{}, fmt.Errorf("get response: %w", err)
	}
	return itemCall[CollectionResponse](ctx, c, request{method: http.MethodGet, path: p, query: opts.query()})
}

// UpdateCollectionResponse calls PUT /collections/{collectionId}/responses/{responseId}, which acts like a
// PATCH: only the fields set in in change.
func (c *Client) UpdateCollectionResponse(ctx context.Context, collectionID, responseID string, in CollectionResponse) (ItemResult[CollectionResponse], error) {
	p, err := itemPath("response", collectionID, responseID, true)
	if err != nil {
		return ItemResult[CollectionResponse]{}, fmt.Errorf("update response: %w", err)
	}
	return itemCall[CollectionResponse](ctx, c, request{method: http.MethodPut, path: p, body: in})
}

// DeleteCollectionResponse calls DELETE /collections/{collectionId}/responses/{responseId}.
func (c *Client) DeleteCollectionResponse(ctx context.Context, collectionID, responseID string) (ItemResult[ItemRef], error) {
	p, err := itemPath("response", collectionID, responseID, true)
	if err != nil {
		return ItemResult[ItemRef]{}, fmt.Errorf("delete response: %w", err)
	}
	return itemCall[ItemRef](ctx, c, request{method: http.MethodDelete, path: p})
}
