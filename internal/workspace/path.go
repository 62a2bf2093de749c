package workspace

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pythonide/pythonide/internal/fault"
)

const (
	maxNameBytes = 255  // what ext4, EFS and most filesystems allow for one name
	maxPathBytes = 4096 // PATH_MAX on Linux

	// tempPrefix marks the hidden files and folders this package stages
	// writes and copies in. Nobody may name a file like this, listings hide
	// such names, and stale ones are cleaned up.
	tempPrefix = ".pythonide-tmp-"
)

// parsePath checks a workspace path and splits it into names. The empty
// string is the workspace root (no names).
//
// Names are kept byte for byte: no Unicode normalization, because the
// existing data volume may hold names in any form and they must stay
// reachable. The HTTP layer hands over URL-decoded text; anything still
// percent-encoded (e.g. "%2e%2e") is an ordinary, odd name that is confined
// like any other.
func parsePath(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if len(p) > maxPathBytes {
		return nil, badPath(p, "it is longer than %d bytes", maxPathBytes)
	}
	if !utf8.ValidString(p) {
		return nil, badPath(p, "it is not valid UTF-8 text")
	}
	if strings.HasPrefix(p, "/") {
		return nil, badPath(p, "it must be relative (no leading /), like Local/alice/hw1.py")
	}
	parts := strings.Split(p, "/")
	for _, name := range parts {
		if why := nameProblem(name); why != "" {
			return nil, badPath(p, "%s", why)
		}
	}
	return parts, nil
}

// validName reports whether name is acceptable as one file or folder name
// (also used for usernames, which become folder names).
func validName(name string) bool { return nameProblem(name) == "" }

// nameProblem says, for a person, what is wrong with one name; "" if nothing.
func nameProblem(name string) string {
	switch {
	case name == "":
		return "it has an empty name (two / in a row, or a / at the end)"
	case name == "." || name == "..":
		return `"." and ".." are not allowed as names`
	case len(name) > maxNameBytes:
		return "a name is longer than 255 bytes"
	case !utf8.ValidString(name):
		return "it is not valid UTF-8 text"
	case strings.ContainsRune(name, '\\'):
		return `backslashes are not allowed; use / between folders`
	case strings.ContainsRune(name, '/'):
		return "a name cannot contain /"
	case strings.HasPrefix(name, tempPrefix):
		return "names starting with " + tempPrefix + " are reserved"
	}
	for _, r := range name {
		if unicode.IsControl(r) { // NUL, newlines, tabs, DEL, C1 controls
			return "it contains a control character"
		}
	}
	first, _ := utf8.DecodeRuneInString(name)
	last, _ := utf8.DecodeLastRuneInString(name)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return "a name cannot start or end with a space"
	}
	return ""
}

func badPath(p, format string, args ...any) *fault.Error {
	// %q keeps control characters and invalid bytes from reaching the page raw.
	return fault.New(ErrInvalid, "The path %q is not valid: "+format+".", append([]any{p}, args...)...)
}

// JoinName joins a folder path and one new name (e.g. an uploaded file's
// name), refusing a name that would be a path of its own.
func JoinName(dir, name string) (string, error) {
	if why := nameProblem(name); why != "" {
		return "", fault.New(ErrInvalid, "The name %q is not valid: %s.", name, why)
	}
	if dir == "" {
		return name, nil
	}
	p := dir + "/" + name
	if _, err := parsePath(p); err != nil {
		return "", err
	}
	return p, nil
}
