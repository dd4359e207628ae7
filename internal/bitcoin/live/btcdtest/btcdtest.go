// Package btcdtest runs a real btcd full node on regtest for tests: a temp
// data directory, loopback RPC without TLS on a free port, blocks mined on
// demand to a fixed key, and transactions paying a chosen fee from that
// key's matured coinbases.
//
// btcd is found on PATH, then in $(go env GOPATH)/bin (CI runs
// `go install github.com/btcsuite/btcd@v0.26.2`). When it is absent Start
// skips the test, unless GRIDMINER_REQUIRE_BTCD=1, when it fails it.
//
// The package is for tests only. Its small JSON-RPC helper is separate from
// the code under test on purpose, so a bug there cannot hide itself.
package btcdtest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"
)

// RequireEnv is the environment variable that turns a missing btcd from a
// skip into a failure.
const RequireEnv = "GRIDMINER_REQUIRE_BTCD"

// CoinbaseMaturity is how many blocks a coinbase must wait before it can
// be spent (on every network).
const CoinbaseMaturity = 100

// Node is a running btcd on regtest.
type Node struct {
	URL      string // http://127.0.0.1:port of the RPC server
	User     string
	Password string
	// MiningAddress is the regtest P2PKH address of the fixed key that
	// every generated block pays.
	MiningAddress string

	key     *btcec.PrivateKey
	addr    address.Address
	logPath string
	http    *http.Client

	mu        sync.Mutex
	nextSpend int64 // height of the next unspent coinbase of ours
	id        int
}

// Binary returns the path of the btcd executable, or an error saying
// where it was looked for.
func Binary() (string, error) {
	if p, err := exec.LookPath("btcd"); err == nil {
		return p, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "env", "GOPATH").Output()
	if err != nil {
		return "", fmt.Errorf("btcd is not on PATH and go env GOPATH failed: %w", err)
	}
	for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
		p := filepath.Join(dir, "bin", "btcd")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("btcd is neither on PATH nor in $(go env GOPATH)/bin; install it with: go install github.com/btcsuite/btcd@v0.26.2")
}

// Start runs btcd on regtest and returns when its RPC answers. The node is
// killed, and its directory removed, when the test ends.
func Start(t testing.TB) *Node {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s=1 but %v", RequireEnv, err)
		}
		t.Skipf("skipping: %v (set %s=1 to make this a failure)", err, RequireEnv)
	}
	key, _ := btcec.PrivKeyFromBytes(bytes.Repeat([]byte{0x42}, 32))
	addr, err := address.NewAddressPubKeyHash(address.Hash160(key.PubKey().SerializeCompressed()), &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatalf("btcdtest: mining address: %v", err)
	}
	n := &Node{
		User:          "gridminer",
		Password:      "btcdtest-password",
		MiningAddress: addr.EncodeAddress(),
		key:           key,
		addr:          addr,
		http:          &http.Client{},
		nextSpend:     1,
	}
	// A free port can be taken between our probe and btcd's bind: try a
	// few ports before giving up.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if lastErr = n.start(t, bin); lastErr == nil {
			return n
		}
		t.Logf("btcdtest: start attempt %d: %v", attempt+1, lastErr)
	}
	t.Fatalf("btcdtest: btcd did not start: %v\n%s", lastErr, n.logTail())
	return nil
}

func (n *Node) start(t testing.TB, bin string) error {
	dir := t.TempDir()
	conf := filepath.Join(dir, "btcd.conf")
	if err := os.WriteFile(conf, nil, 0o600); err != nil { // keeps btcd from writing ~/.btcd/btcd.conf
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	rpcAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	n.URL = "http://" + rpcAddr
	n.logPath = filepath.Join(dir, "btcd.out")
	out, err := os.Create(n.logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin,
		"--configfile="+conf,
		"--regtest",
		"--datadir="+filepath.Join(dir, "data"),
		"--logdir="+filepath.Join(dir, "logs"),
		"--rpcuser="+n.User,
		"--rpcpass="+n.Password,
		"--rpclisten="+rpcAddr,
		"--notls", // allowed on loopback only
		"--rpccert="+filepath.Join(dir, "rpc.cert"),
		"--rpckey="+filepath.Join(dir, "rpc.key"),
		"--nolisten",
		"--miningaddr="+n.MiningAddress,
	)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() { // ends when the process does; Cleanup kills it
		_ = cmd.Wait()
		out.Close()
		close(exited)
	}()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	if err := n.waitReady(exited); err != nil {
		stop()
		return err
	}
	t.Cleanup(stop)
	return nil
}

// waitReady polls the RPC (waiting for an external process: a bounded
// retry loop on real time) until it answers, the process exits, or a
// minute passes.
func (n *Node) waitReady(exited <-chan struct{}) error {
	deadline := time.Now().Add(time.Minute)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := n.Call(ctx, "getblockchaininfo", nil, nil)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rpc not answering after a minute: %w", err)
		}
		select {
		case <-exited:
			return fmt.Errorf("btcd exited before its rpc answered")
		case <-tick.C:
		}
	}
}

func (n *Node) logTail() string {
	b, err := os.ReadFile(n.logPath)
	if err != nil {
		return ""
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Call makes one JSON-RPC 1.0 call with positional params and decodes the
// result into result (nil to discard).
func (n *Node) Call(ctx context.Context, method string, params []any, result any) error {
	if params == nil {
		params = []any{}
	}
	n.mu.Lock()
	n.id++
	id := n.id
	n.mu.Unlock()
	body, err := json.Marshal(map[string]any{"jsonrpc": "1.0", "id": id, "method": method, "params": params})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(n.User, n.Password)
	resp, err := n.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("%s: http %d: %q: %w", method, resp.StatusCode, raw, err)
	}
	if r.Error != nil {
		return fmt.Errorf("%s: rpc error %d: %s", method, r.Error.Code, r.Error.Message)
	}
	if result != nil {
		return json.Unmarshal(r.Result, result)
	}
	return nil
}

func (n *Node) call(t testing.TB, method string, params []any, result any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := n.Call(ctx, method, params, result); err != nil {
		t.Fatalf("btcdtest: %v", err)
	}
}

// Generate mines count blocks paying MiningAddress and returns their hashes.
func (n *Node) Generate(t testing.TB, count int) []string {
	t.Helper()
	var hashes []string
	n.call(t, "generate", []any{count}, &hashes)
	if len(hashes) != count {
		t.Fatalf("btcdtest: generate %d returned %d hashes", count, len(hashes))
	}
	return hashes
}

// Height returns the node's tip height.
func (n *Node) Height(t testing.TB) int64 {
	t.Helper()
	var h int64
	n.call(t, "getblockcount", nil, &h)
	return h
}

// SendFeeTx spends the next matured coinbase of ours back to ourselves,
// paying fee satoshis, and returns the transaction id. It mines blocks
// first when no coinbase of ours has matured yet.
func (n *Node) SendFeeTx(t testing.TB, fee int64) string {
	t.Helper()
	n.mu.Lock()
	h := n.nextSpend
	n.nextSpend++
	n.mu.Unlock()
	if tip := n.Height(t); tip < h+CoinbaseMaturity {
		n.Generate(t, int(h+CoinbaseMaturity-tip))
	}
	var blockHash string
	n.call(t, "getblockhash", []any{h}, &blockHash)
	var block struct {
		Tx []string `json:"tx"`
	}
	n.call(t, "getblock", []any{blockHash, 1}, &block)
	if len(block.Tx) == 0 {
		t.Fatalf("btcdtest: block %d has no transactions", h)
	}
	var out struct {
		Value float64 `json:"value"`
	}
	n.call(t, "gettxout", []any{block.Tx[0], 0}, &out)
	value := int64(math.Round(out.Value * 1e8))
	if value <= fee {
		t.Fatalf("btcdtest: coinbase %s:0 holds %d sats, cannot pay a fee of %d", block.Tx[0], value, fee)
	}
	prev, err := chainhash.NewHashFromStr(block.Tx[0])
	if err != nil {
		t.Fatalf("btcdtest: %v", err)
	}
	script, err := txscript.PayToAddrScript(n.addr)
	if err != nil {
		t.Fatalf("btcdtest: %v", err)
	}
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(prev, 0), nil, nil))
	tx.AddTxOut(wire.NewTxOut(value-fee, script))
	sig, err := txscript.SignatureScript(tx, 0, script, txscript.SigHashAll, n.key, true)
	if err != nil {
		t.Fatalf("btcdtest: sign: %v", err)
	}
	tx.TxIn[0].SignatureScript = sig
	var buf bytes.Buffer
	if err := tx.Serialize(&buf); err != nil {
		t.Fatalf("btcdtest: %v", err)
	}
	var txid string
	n.call(t, "sendrawtransaction", []any{hex.EncodeToString(buf.Bytes())}, &txid)
	return txid
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("listener has no tcp address")
	}
	return addr.Port, nil
}
