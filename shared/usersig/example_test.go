package usersig_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/callsign-dev/callsign/shared/usersig"
)

func Example() {
	const key = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
	signer, err := usersig.NewSigner(1400000000, key)
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Unix(1700000000, 0)
	sig, err := signer.UserSig("xiaojun", 24*time.Hour, now)
	if err != nil {
		fmt.Println(err)
		return
	}
	room := usersig.StringRoom("c_8Jf2")
	pmk, err := signer.PrivateMapKey("xiaojun", 5*time.Minute, now, room, usersig.PresetVideoCaller)
	if err != nil {
		fmt.Println(err)
		return
	}

	// Later, with the current key and the previous one during a rotation:
	keys := []string{key, "previous-key"}
	if _, err := usersig.Verify(sig, keys, usersig.Expect{SDKAppID: 1400000000, UserID: "xiaojun", Now: now}); err != nil {
		fmt.Println(err)
	}
	tk, err := usersig.Verify(pmk, keys, usersig.Expect{SDKAppID: 1400000000, UserID: "xiaojun", Now: now, PrivateMapKey: true, Room: &room})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tk.PrivateMap.Room, tk.PrivateMap.Privileges, tk.ExpiresAt().UTC().Format(time.RFC3339))

	_, err = usersig.Verify(sig, keys, usersig.Expect{SDKAppID: 1400000000, UserID: "xiaojun", Now: now.Add(25 * time.Hour)})
	fmt.Println(errors.Is(err, usersig.ErrExpired))
	// Output:
	// "c_8Jf2" 63 (createRoom|enterRoom|sendAudio|recvAudio|sendVideo|recvVideo) 2023-11-14T22:18:20Z
	// true
}

func ExampleDecode() {
	tk, err := usersig.Decode("eAEArABT-3siVExTLnZlciI6IjIuMCIsIlRMUy5pZGVudGlmaWVyIjoieGlhb2p1biIsIlRMUy5zZGthcHBpZCI6MTQwMDAwMDAwMCwiVExTLmV4cGlyZSI6MTU1NTIwMDAsIlRMUy50aW1lIjoxNzAwMDAwMDAwLCJUTFMuc2lnIjoiTHZBN2QvSXc3Z1NzbnNrdlZ6QkRQT0NDRGJ1TkN3NEdId1RDMGJpcCtCND0ifQoBAAD--9-DMfw_")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tk.Identifier, tk.SDKAppID, tk.ExpiresAt().UTC().Format(time.RFC3339))
	// Output: xiaojun 1400000000 2024-05-12T22:13:20Z
}
