import CFCS
import _FCSImageFiles
#if canImport(Glibc)
import Glibc
#endif

/// A command's result files, written all or none and never in part: each result goes to a
/// temporary file in its destination's folder, and all are renamed into place once every one
/// is written. The destinations are checked when the command starts, so that a path that
/// cannot be written fails before the sampling, not after it; whatever stops the command (an
/// error, Ctrl-C) leaves no temporary file behind.
final class OutputFiles {
    let paths: [String]
    private var temporaries: [String] = []

    init(_ paths: [String]) throws {
        try ImageFile.startVips()
        for path in paths where fcs_image_file_check_destination(path) != 0 {
            throw CommandFailure("\(path): \(String(cString: fcs_image_file_error()))")
        }
        self.paths = paths
    }

    deinit {
        for temporary in temporaries { unlink(temporary) }
    }

    /// Writes the next result, in the order of `paths`, in `input`'s format; frees the result.
    func write(_ result: inout fcs_image, like input: ImageFile) throws {
        guard temporaries.count < paths.count else { throw CommandFailure("internal error: more results than output files") }
        temporaries.append(try input.writeTemporary(&result, for: paths[temporaries.count]))
    }

    /// Moves every result into place; when one cannot be moved, the ones already moved are
    /// removed again, so that none of the results is left.
    func commit() throws {
        guard temporaries.count == paths.count else { throw CommandFailure("internal error: fewer results than output files") }
        for (index, temporary) in temporaries.enumerated() where fcs_image_file_commit(temporary, paths[index]) != 0 {
            let failure = CommandFailure("\(paths[index]): \(String(cString: fcs_image_file_error()))")
            paths[..<index].forEach { fcs_image_file_withdraw($0) }
            temporaries.removeFirst(index)
            throw failure
        }
        temporaries = []
    }
}
