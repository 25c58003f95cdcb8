package emulator

import (
	"fmt"
	"net/http"
)

// reply is what a handler returns: a status, a body to encode as JSON and its content type.
type reply struct {
	status int
	body   any
	ctype  string
	raw    []byte // body encoded while the emulator's lock was held
}

const (
	ctJSON    = "application/json; charset=utf-8"
	ctProblem = "application/problem+json; charset=utf-8"

	problemBase = "https://api.postman.com/problems/"
)

func ok(body any) reply { return reply{status: http.StatusOK, body: body, ctype: ctJSON} }

// legacyError is the older {"error":{name,message,details?,statusCode?}} family (notes §9).
type legacyError struct {
	Error legacyErrorBody `json:"error"`
}

type legacyErrorBody struct {
	Name       string `json:"name"`
	Message    string `json:"message"`
	Details    any    `json:"details,omitempty"`
	StatusCode int    `json:"statusCode,omitempty"`
}

// problem is the RFC 7807 family.
type problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Detail   any    `json:"detail"`
	Status   int    `json:"status,omitempty"`
	Instance string `json:"instance,omitempty"`
}

func legacy(status int, name, message string) reply {
	return reply{status: status, body: legacyError{Error: legacyErrorBody{Name: name, Message: message}}, ctype: ctJSON}
}

func legacyDetails(status int, name, message string, details any) reply {
	return reply{status: status, body: legacyError{Error: legacyErrorBody{Name: name, Message: message, Details: details}}, ctype: ctJSON}
}

func problemReply(status int, kind, title string, detail any, instance string) reply {
	return reply{status: status, body: problem{Type: problemBase + kind, Title: title, Detail: detail, Status: status, Instance: instance}, ctype: ctProblem}
}

// Canned vendor bodies.

func errMissingKey() reply {
	return problemReply(http.StatusUnauthorized, "unauthorized", "Unauthorized", "An API key must be provided in the request header or query string", "")
}

func errInvalidKey() reply {
	return legacy(http.StatusUnauthorized, "AuthenticationError", "Invalid API Key. Every request requires a valid API Key to be sent.")
}

func errServer() reply {
	return legacy(http.StatusInternalServerError, "serverError", "An error has occurred on the server.")
}

func errUnavailable() reply {
	return legacy(http.StatusServiceUnavailable, "503 service unavailable", "The server is currently not available. Please try again in a few minutes.")
}

func errDeepUpdateConflict() reply {
	return problemReply(http.StatusConflict, "conflict", "Conflict", "Deep update operation is already in progress for this collection.", "")
}

// errRouteNotFound answers unknown routes. The vendor's body for them is not documented; this is the legacy
// notFoundError shape listed among the 404 names (notes §9.1).
func errRouteNotFound() reply {
	return legacy(http.StatusNotFound, "notFoundError", "Requested resource not found")
}

func errLengthRequired() reply {
	return problemReply(http.StatusLengthRequired, "length-required", "Length Required", "A valid Content-Length header is required", "/")
}

func errPayloadTooLarge() reply {
	return problemReply(http.StatusRequestEntityTooLarge, "payload-too-large", "Payload Too Large", "Request size limit exceeded", "/")
}

func errForbiddenWorkspace() reply {
	return problemReply(http.StatusForbidden, "forbidden", "Forbidden", "You do not have access to this workspace.", "")
}

// gatewayPage is what a load balancer in front of the API sends for 502/504: HTML, not a JSON error.
func gatewayPage(status int) reply {
	text := fmt.Sprintf("%d %s", status, http.StatusText(status))
	body := "<html>\r\n<head><title>" + text + "</title></head>\r\n<body>\r\n<center><h1>" + text + "</h1></center>\r\n</body>\r\n</html>\r\n"
	return reply{status: status, raw: []byte(body), ctype: "text/html"}
}
