package auth

import (
	"regexp"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/pythonide/pythonide/internal/fault"
)

// HashCost is bcrypt's cost. 10 keeps a login near 50 ms on a small
// machine, so a whole class logging in at once does not queue.
const HashCost = bcrypt.DefaultCost

// MinPasswordLen applies to passwords set from now on; imported hashes are
// taken as they are.
const MinPasswordLen = 6

// HashPassword validates and hashes a new password.
func HashPassword(pw string) (string, error) {
	if err := ValidatePassword(pw); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), HashCost)
	if err != nil {
		return "", fault.Wrap(err, ErrFailed, "The password could not be stored. Please try again.")
	}
	return string(h), nil
}

// ValidatePassword says in plain words what is wrong with a new password.
func ValidatePassword(pw string) error {
	switch {
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		return fault.New(ErrBadPassword, "The password is too short: use at least %d characters.", MinPasswordLen)
	case len(pw) > 72: // bcrypt ignores everything past 72 bytes
		return fault.New(ErrBadPassword, "The password is too long: use at most 72 bytes.")
	case !utf8.ValidString(pw):
		return fault.New(ErrBadPassword, "The password contains characters that are not valid text.")
	}
	return nil
}

// CheckPassword reports whether pw matches the bcrypt hash. Hashes made by
// Python's bcrypt ($2b$) verify too, so an existing class can be imported.
func CheckPassword(hash, pw string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}

// ValidateHash checks that an imported string is a bcrypt hash.
func ValidateHash(hash string) error {
	if _, err := bcrypt.Cost([]byte(hash)); err != nil {
		return fault.New(ErrBadPassword, "That is not a bcrypt password hash.")
	}
	return nil
}

// usernameRe: a username names the student's folder Local/<username>/, so it
// is kept to characters that are safe in a path on every system.
var usernameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidateUsername says in plain words what is wrong with a username.
func ValidateUsername(name string) error {
	if !usernameRe.MatchString(name) {
		return fault.New(ErrBadUsername,
			"Usernames have 1 to 64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit.")
	}
	return nil
}

// dummyHash is compared against when a username does not exist, so a wrong
// username takes as long as a wrong password and reveals nothing. It is made
// on first use, not at package init: every student program's spawn
// re-executes this binary, and a bcrypt hash at init cost each spawn 60 ms.
var dummyHash = sync.OnceValue(func() string {
	h, _ := bcrypt.GenerateFromPassword([]byte("pythonide-no-such-user"), HashCost)
	return string(h)
})
