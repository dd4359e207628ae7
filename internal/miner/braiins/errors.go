package braiins

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gridminer/gridminer/internal/miner"
)

// mapErr turns a gRPC error into one wrapping the miner sentinel callers
// branch on, keeping the code and the server's message (never a credential:
// none is ever sent back).
func mapErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && !isStatus(err) {
		return fmt.Errorf("%w: %w", ctx.Err(), miner.ErrUnreachable)
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%w: %w", err, miner.ErrUnreachable)
	}
	return fmt.Errorf("%s: %s: %w", st.Code(), st.Message(), sentinel(st.Code()))
}

func isStatus(err error) bool {
	_, ok := status.FromError(err)
	return ok
}

// sentinel maps a gRPC status code to a miner error.
func sentinel(c codes.Code) error {
	switch c {
	case codes.Unauthenticated, codes.PermissionDenied:
		return miner.ErrDenied
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		return miner.ErrUnreachable
	case codes.Unimplemented, codes.OutOfRange:
		return miner.ErrUnsupported
	case codes.Internal, codes.Unknown, codes.DataLoss:
		// grpc-go reports a reply it cannot decode (not protobuf, cut
		// short, bad framing) as Internal; Unknown is a non-gRPC answer.
		return miner.ErrProtocol
	default: // InvalidArgument, FailedPrecondition, NotFound, Aborted, ...
		return miner.ErrRejected
	}
}

func isUnauthenticated(err error) bool {
	return status.Code(err) == codes.Unauthenticated && !errors.Is(err, context.DeadlineExceeded)
}
